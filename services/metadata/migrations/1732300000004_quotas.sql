-- Up Migration
-- Plan limits: storage per workspace, counted once per blob digest.
ALTER TABLE workspaces
  ADD COLUMN plan text NOT NULL DEFAULT 'default',
  ADD COLUMN storage_quota_bytes bigint CHECK (storage_quota_bytes IS NULL OR storage_quota_bytes >= 0);

-- Usage sums blobs by workspace: find a workspace's blob links fast.
CREATE INDEX repository_blobs_workspace ON repository_blobs ((split_part(repository, '/', 1)), digest);
