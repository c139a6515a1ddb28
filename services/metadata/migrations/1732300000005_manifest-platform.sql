-- Up Migration
-- The platform an image manifest's config names ("os/arch[/variant]"), read by the gateway at push.
ALTER TABLE manifests ADD COLUMN platform text;
