-- Up Migration
-- Service accounts (docs/security.md): users that are no person, owned by one
-- workspace (its slug), whose admins give them roles and tokens. They have no
-- password and never sign in. Deleting one keeps the row (its id may still be
-- named in metadata's tables and in the record) but ends it: deleted_at.
ALTER TABLE auth_users ADD COLUMN service_account_workspace text;
ALTER TABLE auth_users ADD COLUMN service_account_name text;
ALTER TABLE auth_users ADD COLUMN created_by uuid;
ALTER TABLE auth_users ADD COLUMN deleted_at timestamptz;
CREATE UNIQUE INDEX auth_users_service_accounts ON auth_users (service_account_workspace, service_account_name) WHERE service_account_workspace IS NOT NULL;
