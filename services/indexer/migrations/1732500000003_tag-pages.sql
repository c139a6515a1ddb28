-- Up Migration
-- Tag pages of one image in byte order (keyset pagination), and the referrers
-- (signatures, attestations) of a page's manifests.
CREATE INDEX idx_tags_by_name ON idx_tags (repository, tag COLLATE "C");
CREATE INDEX idx_manifests_by_subject ON idx_manifests (repository, subject) WHERE subject IS NOT NULL;
