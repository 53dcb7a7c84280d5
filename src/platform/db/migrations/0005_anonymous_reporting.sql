-- Reporting while signed out is a per-community choice, off unless the community's admins turn
-- it on (such reports are anonymous and have stricter rate limits).
ALTER TABLE communities ADD COLUMN anonymous_reporting boolean NOT NULL DEFAULT false;
