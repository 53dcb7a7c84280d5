-- Webhook secrets are derived from the server's key, the authority and a version; rotating bumps
-- the version, and the previous secret keeps working (signing and verifying) until the overlap ends.
ALTER TABLE authorities
  ADD COLUMN webhook_secret_version integer NOT NULL DEFAULT 1,
  ADD COLUMN webhook_previous_until timestamptz;
