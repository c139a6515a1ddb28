-- Up Migration
-- Online garbage collection (docs/garbage-collection.md). Every change that can
-- leave something unreferenced queues a review of it, in the same transaction,
-- through the triggers below; collectors take due reviews with
-- FOR UPDATE SKIP LOCKED and decide under row locks.

-- A blob whose bytes are being freed: no repository links it any more, and a
-- collector deletes its bytes and then the row. A push of the same digest
-- before that revives it.
ALTER TABLE blobs ADD COLUMN deleting_since timestamptz;
CREATE INDEX blobs_deleting ON blobs (deleting_since) WHERE deleting_since IS NOT NULL;
-- The orphan sweep asks which storage keys metadata knows.
CREATE INDEX blobs_storage_key ON blobs (storage_key);
-- Reviews ask whether anything in a repository still references a digest.
CREATE INDEX manifest_references_referenced ON manifest_references (repository, referenced_digest);

-- Workspaces that pull by digest keep untagged manifests.
ALTER TABLE workspaces ADD COLUMN keep_untagged_manifests boolean NOT NULL DEFAULT false;

CREATE TABLE gc_reviews (
  kind text NOT NULL CHECK (kind IN ('manifest', 'blob-link', 'blob')),
  -- The OCI repository of a manifest or blob link; '' for a blob (blobs are global).
  repository text NOT NULL,
  digest text NOT NULL,
  -- untagged: its last tag went (a grace period applies); parent-deleted: an index naming it went;
  -- subject-deleted: the manifest it refers to went; unreferenced: a manifest naming the blob went;
  -- linked: a blob was pushed (is it referenced by the end of the grace period?); unlinked: a repository dropped a blob.
  reason text NOT NULL CHECK (reason IN ('untagged', 'parent-deleted', 'subject-deleted', 'unreferenced', 'linked', 'unlinked')),
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  review_after timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  PRIMARY KEY (kind, repository, digest)
);
CREATE INDEX gc_reviews_due ON gc_reviews (review_after);

-- What collection has done since the install, for `registryctl gc status`.
CREATE TABLE gc_totals (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  manifests_deleted bigint NOT NULL DEFAULT 0,
  blob_links_deleted bigint NOT NULL DEFAULT 0,
  blobs_deleted bigint NOT NULL DEFAULT 0,
  bytes_deleted bigint NOT NULL DEFAULT 0,
  orphans_deleted bigint NOT NULL DEFAULT 0,
  last_sweep_at timestamptz
);
INSERT INTO gc_totals DEFAULT VALUES;

-- Queues a review. An immediate reason is never downgraded to one with a grace period.
CREATE FUNCTION gc_enqueue(review_kind text, review_repository text, review_digest text, review_reason text) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO gc_reviews (kind, repository, digest, reason) VALUES (review_kind, review_repository, review_digest, review_reason)
  ON CONFLICT (kind, repository, digest) DO UPDATE SET
    reason = CASE WHEN gc_reviews.reason IN ('parent-deleted', 'subject-deleted') THEN gc_reviews.reason ELSE EXCLUDED.reason END,
    enqueued_at = now(),
    review_after = now();
$$;

-- A tag deleted or moved: the manifest it named may be untagged now.
CREATE FUNCTION gc_tag_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD.digest <> NEW.digest THEN
    PERFORM gc_enqueue('manifest', OLD.repository, OLD.digest, 'untagged');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER gc_tag_changed AFTER DELETE OR UPDATE OF digest ON tags FOR EACH ROW EXECUTE FUNCTION gc_tag_changed();

-- A manifest deleted (its references go with it, by cascade): what it named, and what referred to it.
CREATE FUNCTION gc_reference_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.kind = 'blob' THEN
    PERFORM gc_enqueue('blob-link', OLD.repository, OLD.referenced_digest, 'unreferenced');
  ELSE
    PERFORM gc_enqueue('manifest', OLD.repository, OLD.referenced_digest, 'parent-deleted');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER gc_reference_deleted AFTER DELETE ON manifest_references FOR EACH ROW EXECUTE FUNCTION gc_reference_deleted();

CREATE FUNCTION gc_manifest_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM gc_enqueue('manifest', m.repository, m.digest, 'subject-deleted')
    FROM manifests m WHERE m.repository = OLD.repository AND m.subject_digest = OLD.digest;
  RETURN NULL;
END $$;
CREATE TRIGGER gc_manifest_deleted AFTER DELETE ON manifests FOR EACH ROW EXECUTE FUNCTION gc_manifest_deleted();

-- A blob linked (pushed or mounted): if no manifest references it by the end of the grace period, the link goes.
-- A blob unlinked: if no repository links it any more, its bytes go.
CREATE FUNCTION gc_blob_link_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM gc_enqueue('blob-link', NEW.repository, NEW.digest, 'linked');
  ELSE
    PERFORM gc_enqueue('blob', '', OLD.digest, 'unlinked');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER gc_blob_link_changed AFTER INSERT OR DELETE ON repository_blobs FOR EACH ROW EXECUTE FUNCTION gc_blob_link_changed();
