-- Up Migration
-- When each tag and manifest was last pulled (issue 24): written in batches by
-- RecordPulls, off the pull path; NULL until the first pull. Retention rules
-- ("pushed or pulled within D days") and listings read it.
ALTER TABLE tags ADD COLUMN last_pulled_at timestamptz;
ALTER TABLE manifests ADD COLUMN last_pulled_at timestamptz;
