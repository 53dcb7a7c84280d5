-- Open311 servicerequestupdates reads the timeline of every incident by time window.
CREATE INDEX incident_events_created_idx ON incident_events (created_at, id);
