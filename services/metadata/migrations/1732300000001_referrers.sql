-- Up Migration
-- What the referrers API needs from a manifest with a subject.
ALTER TABLE manifests
  ADD COLUMN subject_digest text,
  ADD COLUMN artifact_type text,
  ADD COLUMN annotations jsonb;

CREATE INDEX manifests_subject ON manifests (repository, subject_digest) WHERE subject_digest IS NOT NULL;
