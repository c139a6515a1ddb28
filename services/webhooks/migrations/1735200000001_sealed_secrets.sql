-- Up Migration
-- Hooks' signing secrets sealed at rest (AES-256-GCM under WEBHOOK_SECRETS_KEY, @ocireg/secret-seal).
-- Rows written before this keep their plaintext in secret / previous_secret until the
-- service starts with a key: it then seals them and empties the plaintext columns
-- (HookStore.sealLegacySecrets, run at every start; a no-op once done).
ALTER TABLE wh_hooks ADD COLUMN secret_sealed bytea;
ALTER TABLE wh_hooks ADD COLUMN previous_secret_sealed bytea;
ALTER TABLE wh_hooks ALTER COLUMN secret SET DEFAULT '';

-- Down Migration
ALTER TABLE wh_hooks ALTER COLUMN secret DROP DEFAULT;
ALTER TABLE wh_hooks DROP COLUMN previous_secret_sealed;
ALTER TABLE wh_hooks DROP COLUMN secret_sealed;
