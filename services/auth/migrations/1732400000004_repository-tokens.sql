-- Up Migration
-- Repository tokens (docs/security.md): a token that belongs to a source
-- repository (metadata's id) instead of a user, so it outlives whoever made
-- it. Exactly one owner per token. created_by names the person who made any
-- token, for the record only (no key: it grants nothing and must not go with them).
ALTER TABLE auth_tokens ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE auth_tokens ADD COLUMN source_repository_id uuid;
ALTER TABLE auth_tokens ADD COLUMN created_by uuid;
ALTER TABLE auth_tokens ADD CONSTRAINT auth_tokens_one_owner CHECK ((user_id IS NULL) <> (source_repository_id IS NULL));
CREATE INDEX auth_tokens_source_repository ON auth_tokens (source_repository_id) WHERE source_repository_id IS NOT NULL;
