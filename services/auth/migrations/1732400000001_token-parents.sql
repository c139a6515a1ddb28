-- Up Migration
-- A token created with another token is bounded by it (scopes, expiry) and revoked with it.
ALTER TABLE auth_tokens ADD COLUMN parent_token_id text REFERENCES auth_tokens (id) ON DELETE CASCADE;
CREATE INDEX auth_tokens_parent ON auth_tokens (parent_token_id) WHERE parent_token_id IS NOT NULL;
