-- Category attributes: the extra questions a report in a category asks (Open311 GeoReport v2
-- service definitions). A JSON array of
--   {code, datatype, required, description: {en, af?}, order, values?: [{key, name: {en, af?}}]}
-- validated by the categories API (categories.schemas.ts); the database only checks the shape.
ALTER TABLE categories
  ADD COLUMN attributes jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(attributes) = 'array');
