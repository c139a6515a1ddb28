-- Up Migration
-- Immutable tag rules (issue 24): a tag pattern (a glob: `*`, `?`) set at one
-- level — the workspace, a project, a source repository or a package — and
-- inherited by every package below it. A tag that matches a rule in effect for
-- its package can be set once, re-pushed with the same digest, never moved to
-- another digest nor deleted (with its manifest or image), by anyone.
-- Exactly the level's own column names the scope; the rule goes with it.
CREATE TABLE immutable_tag_rules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  level text NOT NULL CHECK (level IN ('workspace', 'project', 'source_repository', 'package')),
  project_id uuid REFERENCES projects (id) ON DELETE CASCADE,
  repository_id uuid REFERENCES source_repositories (id) ON DELETE CASCADE,
  package_id uuid REFERENCES packages (id) ON DELETE CASCADE,
  pattern text NOT NULL CHECK (pattern <> '' AND length(pattern) <= 128),
  created_by text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (
    (level = 'workspace' AND project_id IS NULL AND repository_id IS NULL AND package_id IS NULL)
    OR (level = 'project' AND project_id IS NOT NULL AND repository_id IS NULL AND package_id IS NULL)
    OR (level = 'source_repository' AND project_id IS NULL AND repository_id IS NOT NULL AND package_id IS NULL)
    OR (level = 'package' AND project_id IS NULL AND repository_id IS NULL AND package_id IS NOT NULL)
  )
);

-- One rule per pattern and scope.
CREATE UNIQUE INDEX immutable_tag_rules_scope_pattern ON immutable_tag_rules (workspace_id, level, COALESCE(project_id, repository_id, package_id, workspace_id), pattern);
