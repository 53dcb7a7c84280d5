-- Duplicates: how far apart two reports of one thing may be, per category, and the link from a
-- merged duplicate to the incident it was merged into.
ALTER TABLE categories
  ADD COLUMN duplicate_radius_m integer NOT NULL DEFAULT 250 CHECK (duplicate_radius_m BETWEEN 1 AND 50000);

ALTER TABLE incidents ADD COLUMN duplicate_of uuid REFERENCES incidents (id) ON DELETE SET NULL;
-- "the incidents merged into this one"
CREATE INDEX incidents_duplicate_of_idx ON incidents (duplicate_of) WHERE duplicate_of IS NOT NULL;
