-- Up Migration
-- Who may set whose password (docs/security.md): a workspace admin's
-- invitation only reaches people whose only footing is that workspace. The
-- workspace an invitation created a user for, and the workspace a link was
-- made in (NULL: an operator's link), so redemption can check again.
ALTER TABLE auth_users ADD COLUMN invited_to_workspace text;
ALTER TABLE auth_password_links ADD COLUMN workspace_slug text;
