-- Up Migration
-- The webhooks service's tables (docs/webhooks.md): each workspace's hooks,
-- a delivery per (hook, event), and each delivery's attempts.

CREATE TABLE wh_hooks (
  id uuid PRIMARY KEY,
  workspace text NOT NULL,
  url text NOT NULL,
  -- Empty arrays: every event type, every package.
  event_types text[] NOT NULL DEFAULT '{}',
  package_patterns text[] NOT NULL DEFAULT '{}',
  -- HMAC keys. The previous one signs beside the current one until previous_secret_until.
  secret text NOT NULL,
  previous_secret text NOT NULL DEFAULT '',
  previous_secret_until timestamptz,
  enabled boolean NOT NULL DEFAULT true,
  disabled_reason text NOT NULL DEFAULT '',
  consecutive_failures integer NOT NULL DEFAULT 0,
  created_by text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wh_hooks_workspace ON wh_hooks (workspace);

CREATE TABLE wh_deliveries (
  id uuid PRIMARY KEY,
  hook_id uuid NOT NULL REFERENCES wh_hooks (id) ON DELETE CASCADE,
  -- The CloudEvent's id: the registry event's (the same on redelivery), or a ping's own.
  event_id text NOT NULL,
  event_type text NOT NULL,
  -- event (from the stream), redelivery or ping.
  origin text NOT NULL CHECK (origin IN ('event', 'redelivery', 'ping')),
  -- The CloudEvent in structured JSON, as sent.
  body text NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivering', 'succeeded', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- A claimed delivery whose lease ran out (its worker died) is pending again.
  lease_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- One delivery per hook and event from the stream: a redelivered event is not sent twice.
CREATE UNIQUE INDEX wh_deliveries_once ON wh_deliveries (hook_id, event_id) WHERE origin = 'event';
CREATE INDEX wh_deliveries_due ON wh_deliveries (next_attempt_at) WHERE state IN ('pending', 'delivering');
CREATE INDEX wh_deliveries_hook ON wh_deliveries (hook_id, created_at DESC, id DESC);

CREATE TABLE wh_attempts (
  id bigserial PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES wh_deliveries (id) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT now(),
  status_code integer NOT NULL DEFAULT 0,
  latency_ms integer NOT NULL DEFAULT 0,
  error text NOT NULL DEFAULT '',
  response_head text NOT NULL DEFAULT ''
);
CREATE INDEX wh_attempts_delivery ON wh_attempts (delivery_id, id);

-- Down Migration
DROP TABLE wh_attempts;
DROP TABLE wh_deliveries;
DROP TABLE wh_hooks;
