-- Up Migration
-- Push-based replication (docs/replication.md): a workspace's targets are other OCI registries that receive
-- its packages' new tags. The password is sealed (AES-256-GCM, key from UPSTREAM_CREDENTIALS_KEY, as upstreams')
-- and leaves metadata only on the gateway's ClaimReplicationJobs.
CREATE TABLE replication_targets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name text NOT NULL,
  url text NOT NULL,
  username text NOT NULL DEFAULT '',
  password_sealed bytea,
  -- A glob over the package's name without the workspace (retention/pattern.ts, with "/"): empty matches nothing.
  package_pattern text NOT NULL,
  -- The repository path prefix on the target: "<prefix>/<package>"; empty: "<package>".
  destination_prefix text NOT NULL DEFAULT '',
  enabled boolean NOT NULL DEFAULT true,
  -- Which UPSTREAM_CREDENTIALS_KEY the target was made under (a hash, '' for none): only a metadata with
  -- that key claims its jobs, so a changed key leaves them pending instead of failing to open the password.
  seal_key_id text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);
-- A push looks up its workspace's enabled targets: one index probe (none for most workspaces).
CREATE INDEX replication_targets_enabled ON replication_targets (workspace_id) WHERE enabled;

-- One job per tag set or moved and matching target: push `digest` to the target as `tag`.
-- pending -> running (leased to one gateway) -> succeeded | pending (retry later) | failed; a newer
-- job for the same target, package and tag makes a pending one `superseded`.
CREATE TABLE replication_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  target_id uuid NOT NULL REFERENCES replication_targets (id) ON DELETE CASCADE,
  repository text NOT NULL,
  tag text NOT NULL,
  digest text NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'superseded')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_id uuid,
  lease_until timestamptz,
  last_error text NOT NULL DEFAULT '',
  -- Retries stop once this is older than the retry window (a manual retry starts a new window).
  window_started_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
-- Claims: due pending jobs, and running ones whose lease ran out.
CREATE INDEX replication_jobs_due ON replication_jobs (next_attempt_at) WHERE state = 'pending';
CREATE INDEX replication_jobs_leased ON replication_jobs (lease_until) WHERE state = 'running';
-- Superseding and the per-target status listing.
CREATE INDEX replication_jobs_target_tag ON replication_jobs (target_id, repository, tag) WHERE state = 'pending';
-- A job waits while an older one of its target, package and tag is being pushed (the target's tag ends at the newer digest).
CREATE INDEX replication_jobs_target_tag_running ON replication_jobs (target_id, repository, tag) WHERE state = 'running';
CREATE INDEX replication_jobs_target_recent ON replication_jobs (target_id, created_at DESC);
