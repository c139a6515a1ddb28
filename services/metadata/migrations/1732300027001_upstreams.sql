-- Up Migration
-- Upstream registries a workspace pulls through (docs/pull-through.md): <workspace>/<name>/<upstream repository>
-- names are fetched from `url` on a miss, into packages linked to `repository_id` (whose roles say who may pull).
-- The credentials are sealed (AES-256-GCM, key from UPSTREAM_CREDENTIALS_KEY); the password never leaves metadata
-- except to the gateway's ResolveUpstream.
CREATE TABLE upstreams (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name text NOT NULL,
  url text NOT NULL,
  username text NOT NULL DEFAULT '',
  password_sealed bytea,
  repository_id uuid NOT NULL REFERENCES source_repositories (id),
  namespaces text[] NOT NULL DEFAULT '{}',
  tag_ttl_seconds integer NOT NULL DEFAULT 300 CHECK (tag_ttl_seconds >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);
