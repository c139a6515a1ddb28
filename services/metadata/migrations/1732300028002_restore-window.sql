-- Up Migration
-- The restore window (issue 24, docs/lifecycle-restore.md): a deletion of tags,
-- manifests or an image moves their rows here, in the deletion's transaction,
-- when RESTORE_WINDOW_SECONDS > 0. Until the window ends, garbage collection
-- keeps what the moved rows reference (gc/reviews.ts), and a restore moves them
-- back. A purge (restore-window-loop.ts) then deletes the deletion, and the
-- triggers below queue the reviews that let collection free the bytes.

-- One delete operation: what it removed is restored together.
CREATE TABLE deletions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  repository text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('tag', 'manifest', 'image')),
  deleted_at timestamptz NOT NULL DEFAULT now(),
  restorable_until timestamptz NOT NULL,
  -- Who deleted: a user (id, email) or a service acting on its own (retention, ...).
  actor_user_id text NOT NULL DEFAULT '',
  actor_email text NOT NULL DEFAULT '',
  actor_service text NOT NULL DEFAULT ''
);
CREATE INDEX deletions_repository ON deletions (repository, deleted_at DESC);
CREATE INDEX deletions_workspace ON deletions ((split_part(repository, '/', 1)), deleted_at DESC);
CREATE INDEX deletions_until ON deletions (restorable_until);

-- A deleted manifest's whole row, its bytes included.
CREATE TABLE deleted_manifests (
  deletion_id uuid NOT NULL REFERENCES deletions (id) ON DELETE CASCADE,
  repository text NOT NULL,
  digest text NOT NULL,
  media_type text NOT NULL,
  content bytea NOT NULL,
  size bigint NOT NULL,
  created_at timestamptz NOT NULL,
  subject_digest text,
  artifact_type text,
  annotations jsonb,
  platform text,
  config_created timestamptz,
  last_pulled_at timestamptz,
  PRIMARY KEY (deletion_id, digest)
);
CREATE INDEX deleted_manifests_digest ON deleted_manifests (repository, digest);

CREATE TABLE deleted_manifest_references (
  deletion_id uuid NOT NULL,
  repository text NOT NULL,
  manifest_digest text NOT NULL,
  referenced_digest text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('blob', 'manifest')),
  PRIMARY KEY (deletion_id, manifest_digest, referenced_digest),
  FOREIGN KEY (deletion_id, manifest_digest) REFERENCES deleted_manifests (deletion_id, digest) ON DELETE CASCADE
);
-- Reviews ask whether a deleted manifest still in the window references a digest.
CREATE INDEX deleted_manifest_references_referenced ON deleted_manifest_references (repository, referenced_digest);

CREATE TABLE deleted_tags (
  deletion_id uuid NOT NULL REFERENCES deletions (id) ON DELETE CASCADE,
  repository text NOT NULL,
  name text NOT NULL,
  digest text NOT NULL,
  updated_at timestamptz NOT NULL,
  last_pulled_at timestamptz,
  PRIMARY KEY (deletion_id, name)
);
CREATE INDEX deleted_tags_digest ON deleted_tags (repository, digest);

-- Leaving the window (purged or restored): what the rows kept is reviewed again.
CREATE FUNCTION gc_deleted_reference_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.kind = 'blob' THEN
    PERFORM gc_enqueue('blob-link', OLD.repository, OLD.referenced_digest, 'unreferenced');
  ELSE
    PERFORM gc_enqueue('manifest', OLD.repository, OLD.referenced_digest, 'parent-deleted');
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER gc_deleted_reference_gone AFTER DELETE ON deleted_manifest_references FOR EACH ROW EXECUTE FUNCTION gc_deleted_reference_gone();

-- Referrers (signatures, SBOMs) of a deleted manifest stay while it can come back.
CREATE FUNCTION gc_deleted_manifest_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM gc_enqueue('manifest', m.repository, m.digest, 'subject-deleted')
    FROM manifests m WHERE m.repository = OLD.repository AND m.subject_digest = OLD.digest;
  RETURN NULL;
END $$;
CREATE TRIGGER gc_deleted_manifest_gone AFTER DELETE ON deleted_manifests FOR EACH ROW EXECUTE FUNCTION gc_deleted_manifest_gone();

-- A deleted tag keeps its manifest; once it is gone the manifest may be untagged.
CREATE FUNCTION gc_deleted_tag_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM gc_enqueue('manifest', OLD.repository, OLD.digest, 'untagged');
  RETURN NULL;
END $$;
CREATE TRIGGER gc_deleted_tag_gone AFTER DELETE ON deleted_tags FOR EACH ROW EXECUTE FUNCTION gc_deleted_tag_gone();
