-- Up Migration
-- The product model: workspace > project > repository; packages (image names)
-- link to one repository and inherit its members' roles.
CREATE TABLE workspaces (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE,
  name text NOT NULL,
  organization text NOT NULL DEFAULT '',
  public_pull boolean NOT NULL DEFAULT false,
  create_packages_on_push boolean NOT NULL DEFAULT false,
  default_repository_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workspace_admins (
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  user_id text NOT NULL,
  PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE projects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  slug text NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, slug)
);

CREATE TABLE source_repositories (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  slug text NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, slug)
);

ALTER TABLE workspaces ADD FOREIGN KEY (default_repository_id) REFERENCES source_repositories (id) ON DELETE SET NULL;

CREATE TABLE repository_members (
  repository_id uuid NOT NULL REFERENCES source_repositories (id) ON DELETE CASCADE,
  user_id text NOT NULL,
  role text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  PRIMARY KEY (repository_id, user_id)
);

CREATE TABLE packages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name text NOT NULL,
  repository_id uuid NOT NULL REFERENCES source_repositories (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);

CREATE TABLE package_grants (
  package_id uuid NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
  user_id text NOT NULL,
  role text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  PRIMARY KEY (package_id, user_id)
);

-- Idempotent creates: a request id maps to the resource it created.
CREATE TABLE idempotency_keys (
  request_id text PRIMARY KEY,
  kind text NOT NULL,
  resource_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
