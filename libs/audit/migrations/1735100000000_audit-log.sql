-- Up Migration
-- The audit log (docs/audit.md): one row per state change, written by the
-- service that makes the change, in the change's transaction. Each writing
-- service has its own chain (metadata, auth, webhooks): a row's hash is
-- sha256(previous row's hash || entry_digest), where entry_digest is the
-- SHA-256 of the row's canonical content (libs/audit entry-digest.ts), so an
-- edited, removed or reordered row breaks the chain and `verify` reports it.

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  chain text NOT NULL,
  seq bigint NOT NULL,
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL,
  entry_digest bytea NOT NULL,
  at timestamptz NOT NULL,
  -- Who: a user (with the API token or UI session behind the call), or a service acting on its own.
  actor_user_id text NOT NULL DEFAULT '',
  actor_email text NOT NULL DEFAULT '',
  actor_token_id text NOT NULL DEFAULT '',
  actor_session_id text NOT NULL DEFAULT '',
  actor_service text NOT NULL DEFAULT '',
  -- From where: the door (registry, admin-api, json-api), the client's address and user agent, the request id.
  channel text NOT NULL DEFAULT '',
  client_address text NOT NULL DEFAULT '',
  user_agent text NOT NULL DEFAULT '',
  request_id text NOT NULL DEFAULT '',
  -- What.
  action text NOT NULL,
  outcome text NOT NULL DEFAULT 'success' CHECK (outcome IN ('success', 'failure')),
  workspace text NOT NULL DEFAULT '',
  target_type text NOT NULL,
  target_id text NOT NULL DEFAULT '',
  target_name text NOT NULL DEFAULT '',
  before jsonb,
  after jsonb,
  UNIQUE (chain, seq)
);
CREATE INDEX audit_log_time ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_workspace_time ON audit_log (workspace, at DESC, id DESC) WHERE workspace <> '';
CREATE INDEX audit_log_actor_time ON audit_log (actor_user_id, at DESC, id DESC) WHERE actor_user_id <> '';

-- The last row of each chain. Rows take their place in a chain under this
-- row's lock, held until their transaction commits, so a chain's order is its
-- commit order. A head that does not name the chain's last row (rows removed
-- from the end) is reported by verify too.
CREATE TABLE audit_chain_heads (
  chain text PRIMARY KEY,
  seq bigint NOT NULL DEFAULT 0,
  prev_hash bytea,
  hash bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
);
INSERT INTO audit_chain_heads (chain) VALUES ('metadata'), ('auth'), ('webhooks');

-- Chains a new row: its seq, prev_hash and hash come from the head, never from the writer.
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head audit_chain_heads;
BEGIN
  IF length(NEW.entry_digest) <> 32 THEN
    RAISE EXCEPTION 'audit_log: entry_digest must be a SHA-256 digest';
  END IF;
  UPDATE audit_chain_heads SET seq = seq + 1, prev_hash = hash, hash = sha256(hash || NEW.entry_digest)
    WHERE chain = NEW.chain RETURNING * INTO head;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'audit_log: no chain named % (libs/audit migrations add chains)', NEW.chain;
  END IF;
  NEW.seq := head.seq;
  NEW.prev_hash := head.prev_hash;
  NEW.hash := head.hash;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- Append-only: no row is ever updated; a row is deleted only by retention
-- (audit-retention.ts), which names the retention period for its transaction,
-- and only when older than that period (at least one day).
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  retention_days integer := nullif(current_setting('ocireg.audit_retention_days', true), '')::integer;
BEGIN
  IF TG_OP = 'DELETE' AND retention_days >= 1 AND OLD.at < now() - make_interval(days => retention_days) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE FUNCTION audit_log_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_truncate();

-- A head only moves forward by one row at a time, and is never removed.
CREATE FUNCTION audit_chain_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.chain = OLD.chain AND NEW.seq = OLD.seq + 1 AND NEW.prev_hash = OLD.hash THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_chain_heads only move forward: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_chain_heads_forward_only BEFORE UPDATE OR DELETE ON audit_chain_heads FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_forward_only();
CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_truncate();

-- The services' role (which owns these tables when it runs the migrations)
-- gives up UPDATE and TRUNCATE on the log: an owner could grant them back, but
-- no statement a service sends can change a row without such DDL first, and
-- the triggers refuse it even then. Superusers skip privileges, not triggers.
REVOKE UPDATE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE UPDATE, TRUNCATE ON audit_log FROM CURRENT_USER;
REVOKE DELETE, TRUNCATE ON audit_chain_heads FROM PUBLIC;
REVOKE DELETE, TRUNCATE ON audit_chain_heads FROM CURRENT_USER;
