-- Up Migration
-- The image refresh looks up a repository's latest tag change.
CREATE INDEX idx_tags_by_activity ON idx_tags (repository, updated_at DESC);
CREATE INDEX idx_manifests_by_activity ON idx_manifests (repository, pushed_at DESC);
