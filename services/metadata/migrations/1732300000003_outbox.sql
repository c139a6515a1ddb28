-- Up Migration
-- Events other services must learn about, written in the same transaction as
-- the change; a relay publishes them to Kafka in id order (key: repository).
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  repository text NOT NULL,
  action text NOT NULL,
  envelope jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);

CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
