-- Up Migration
-- Single sign-on (docs/security.md, "Single sign-on"). A sign-in under way:
-- the state a browser took to its identity provider (only its HMAC), the PKCE
-- verifier and nonce that prove the answer is to this request; used once,
-- for ten minutes at most.
CREATE TABLE auth_oidc_attempts (
  state_hash bytea PRIMARY KEY,
  provider text NOT NULL,
  code_verifier text NOT NULL,
  nonce text NOT NULL,
  redirect_uri text NOT NULL,
  return_to text NOT NULL DEFAULT '/',
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX auth_oidc_attempts_expiry ON auth_oidc_attempts (expires_at);

-- Who a provider's subject is here: matched by verified email the first
-- time, by (provider, subject) after, so a changed email at the provider
-- still reaches the same user.
CREATE TABLE auth_user_identities (
  provider text NOT NULL,
  subject text NOT NULL,
  user_id uuid NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
  email text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, subject)
);
CREATE INDEX auth_user_identities_user ON auth_user_identities (user_id);
