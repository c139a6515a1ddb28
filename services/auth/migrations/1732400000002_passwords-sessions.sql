-- Up Migration
-- Web UI sign-in: passwords (argon2id PHC strings), sessions and the
-- invitation / reset links that set a password. No secret is stored: session
-- and link secrets only as HMAC-SHA256 with the pepper, like API tokens.
CREATE TABLE auth_passwords (
  user_id uuid PRIMARY KEY REFERENCES auth_users (id) ON DELETE CASCADE,
  hash text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- provider says how the session was opened ('password' today; an OIDC
-- provider would add its own name), so sessions never depend on passwords.
CREATE TABLE auth_sessions (
  id text PRIMARY KEY,
  secret_hash bytea NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  provider text NOT NULL,
  client_ip text NOT NULL DEFAULT '',
  user_agent text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  ended_at timestamptz
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expiry ON auth_sessions (expires_at);

CREATE TABLE auth_password_links (
  id text PRIMARY KEY,
  secret_hash bytea NOT NULL,
  user_id uuid NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('invite', 'reset')),
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX auth_password_links_user ON auth_password_links (user_id);
