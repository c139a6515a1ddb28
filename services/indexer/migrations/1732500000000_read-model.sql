-- Up Migration
-- The listing read model, built only from registry events (replayable).
CREATE TABLE idx_images (
  repository text PRIMARY KEY,
  workspace text NOT NULL,
  package text NOT NULL,
  last_digest text NOT NULL,
  last_pushed_at timestamptz NOT NULL
);
CREATE INDEX idx_images_workspace ON idx_images (workspace, repository);

CREATE TABLE idx_tags (
  repository text NOT NULL,
  tag text NOT NULL,
  digest text NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (repository, tag)
);

-- Events already applied: a redelivered or replayed event changes nothing.
CREATE TABLE idx_applied_events (
  event_id uuid PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
