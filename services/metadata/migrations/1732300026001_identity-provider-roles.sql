-- Up Migration
-- Roles an identity provider's groups gave a user at sign-in (docs/security.md,
-- "Single sign-on"): kept so the next sign-in can take back what the groups no
-- longer give. repository_id NULL: workspace admin.
CREATE TABLE identity_provider_roles (
  provider text NOT NULL,
  user_id text NOT NULL,
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  repository_id uuid REFERENCES source_repositories (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('read', 'write', 'admin'))
);
CREATE UNIQUE INDEX identity_provider_roles_one ON identity_provider_roles (provider, user_id, workspace_id, COALESCE(repository_id, '00000000-0000-0000-0000-000000000000'::uuid));
