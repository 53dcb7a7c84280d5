-- Authorities push updates with an Open311 key of their own (POST servicerequestupdates), and
-- Buurtwag polls the servicerequestupdates of those that speak Open311 from where it left off.
ALTER TABLE open311_keys ADD COLUMN authority_id uuid REFERENCES authorities (id) ON DELETE CASCADE;
ALTER TABLE authorities ADD COLUMN updates_polled_at timestamptz;
