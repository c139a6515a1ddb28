-- Up Migration
-- The full listing read model (images, manifests with their facts, tags,
-- packages). It replaces the first slice's tables; after upgrading, run the
-- rebuild command (docs/events.md) to fill it from metadata.
DROP TABLE idx_images;
DROP TABLE idx_tags;
TRUNCATE idx_applied_events;

-- Which source repository (and project) governs each package.
CREATE TABLE idx_packages (
  repository text PRIMARY KEY,
  workspace text NOT NULL,
  name text NOT NULL,
  source_repository_id text NOT NULL,
  project text NOT NULL,
  linked_at timestamptz NOT NULL
);

CREATE TABLE idx_manifests (
  repository text NOT NULL,
  digest text NOT NULL,
  media_type text NOT NULL,
  kind text NOT NULL,
  artifact_type text NOT NULL,
  manifest_size bigint NOT NULL,
  platform_os text,
  platform_architecture text,
  platform_variant text,
  created timestamptz,
  subject text,
  config jsonb,
  layers jsonb NOT NULL,
  entries jsonb NOT NULL,
  pushed_at timestamptz NOT NULL,
  PRIMARY KEY (repository, digest)
);

CREATE TABLE idx_tags (
  repository text NOT NULL,
  tag text NOT NULL,
  digest text NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (repository, tag)
);

-- One row per repository holding at least one manifest, kept current by
-- every event, so listings are one indexed scan.
CREATE TABLE idx_images (
  repository text PRIMARY KEY,
  workspace text NOT NULL,
  name text NOT NULL,
  last_digest text NOT NULL,
  last_pushed_at timestamptz NOT NULL,
  tag_count integer NOT NULL,
  manifest_count integer NOT NULL,
  total_size bigint NOT NULL
);
CREATE INDEX idx_images_by_name ON idx_images (workspace, name COLLATE "C");
CREATE INDEX idx_images_by_last_pushed ON idx_images (workspace, last_pushed_at DESC, name COLLATE "C");
