-- Up Migration
-- Retention rules (issue 24): set at a workspace, a project, a source
-- repository or a package, inherited by every package below; a lower level
-- may opt out of an inherited rule. Deletions go through services/metadata/src/deletions.ts.
CREATE TABLE retention_rules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  level text NOT NULL CHECK (level IN ('workspace', 'project', 'source-repository', 'package')),
  -- The workspace's, project's, source repository's or package's id.
  scope_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('keep-latest', 'keep-recent', 'delete-untagged', 'protect')),
  pattern text NOT NULL DEFAULT '',
  count integer NOT NULL DEFAULT 0 CHECK (count >= 0),
  days integer NOT NULL DEFAULT 0 CHECK (days >= 0),
  created_by text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX retention_rules_scope ON retention_rules (scope_id);
CREATE INDEX retention_rules_workspace ON retention_rules (workspace_id);

-- A level below a rule's that does not want it: the rule no longer applies to packages under it.
CREATE TABLE retention_opt_outs (
  rule_id uuid NOT NULL REFERENCES retention_rules (id) ON DELETE CASCADE,
  level text NOT NULL CHECK (level IN ('project', 'source-repository', 'package')),
  scope_id uuid NOT NULL,
  created_by text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_id, scope_id)
);
CREATE INDEX retention_opt_outs_scope ON retention_opt_outs (scope_id);

-- What the online loop last did per package: when it evaluated, what it applied, and whether it waits for a confirmation.
CREATE TABLE retention_state (
  package_id uuid PRIMARY KEY REFERENCES packages (id) ON DELETE CASCADE,
  evaluated_at timestamptz NOT NULL,
  applied_at timestamptz,
  confirmation_needed boolean NOT NULL DEFAULT false,
  last_result jsonb NOT NULL DEFAULT '{}'
);
