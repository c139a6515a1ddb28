-- Up Migration
-- Facts the listing read model needs and a rebuild must reproduce exactly:
-- the created time an image's config names, and when a package was last linked.
ALTER TABLE manifests ADD COLUMN config_created timestamptz;
ALTER TABLE packages ADD COLUMN linked_at timestamptz;
UPDATE packages SET linked_at = created_at;
ALTER TABLE packages ALTER COLUMN linked_at SET NOT NULL, ALTER COLUMN linked_at SET DEFAULT now();
