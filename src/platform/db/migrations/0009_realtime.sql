-- Realtime: the timeline is the event log that live updates come from. Identity ids are handed
-- out at INSERT, not at COMMIT, so a transaction that commits later may hold a smaller id than an
-- event already delivered. `seq` is therefore given after commit, by one sequencer at a time
-- (realtime.sequencer.ts, under an advisory lock): seq order is commit order, and a client that
-- resumes "after seq N" misses nothing.
CREATE SEQUENCE incident_event_seq;
ALTER TABLE incident_events ADD COLUMN seq bigint;

UPDATE incident_events e SET seq = s.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM incident_events) s
WHERE e.id = s.id;
SELECT setval('incident_event_seq', coalesce((SELECT max(seq) FROM incident_events), 0) + 1, false);

CREATE UNIQUE INDEX incident_events_seq_idx ON incident_events (seq);
CREATE INDEX incident_events_incident_seq_idx ON incident_events (incident_id, seq);
-- what the sequencer has not reached yet: a handful of rows at any time
CREATE INDEX incident_events_unsequenced_idx ON incident_events (id) WHERE seq IS NULL;
