-- Up Migration
-- CI workload identity (docs/security.md): OIDC issuers a workspace's admins
-- trust, which claim of their ID tokens names the job's repository, and which
-- source repository (metadata's ids) each value maps to.
CREATE TABLE auth_trusted_issuers (
  id text PRIMARY KEY,
  workspace_slug text NOT NULL,
  name text NOT NULL,
  kind text NOT NULL,
  issuer_url text NOT NULL,
  jwks_url text NOT NULL DEFAULT '',
  repository_claim text NOT NULL,
  mappings jsonb NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_slug, name)
);
CREATE INDEX auth_trusted_issuers_issuer ON auth_trusted_issuers (issuer_url);

-- Each ID token logs in once: its jti is kept until the token expires.
CREATE TABLE auth_ci_token_uses (
  issuer_url text NOT NULL,
  jti text NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer_url, jti)
);
CREATE INDEX auth_ci_token_uses_expiry ON auth_ci_token_uses (expires_at);
