-- Urgent jobs (what may start or escalate an emergency alert) are claimed before the others,
-- whatever backlog of ordinary jobs is due: a report of a fire must not wait behind a bulk import.
ALTER TABLE jobs ADD COLUMN urgent boolean NOT NULL DEFAULT false;
-- small: only urgent rows enter it, so ordinary enqueues pay nothing for it
CREATE INDEX jobs_urgent_due_idx ON jobs (run_at, id) WHERE urgent AND attempts < max_attempts;
