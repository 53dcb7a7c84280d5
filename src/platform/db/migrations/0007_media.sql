-- Photos, video and documents on incidents. A row exists only once every stored variant has
-- been written (so no row points at a missing object); objects without a row are orphans that
-- the media garbage collector removes.
CREATE TYPE media_kind AS ENUM ('image', 'video', 'document');

CREATE TABLE media (
  id            uuid PRIMARY KEY,
  incident_id   uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  uploader_id   uuid REFERENCES users (id) ON DELETE SET NULL,
  kind          media_kind NOT NULL,
  -- what the bytes were, as detected from them (never the client's word)
  content_type  text NOT NULL,
  size          bigint NOT NULL CHECK (size > 0),
  -- upright pixel size of a photo
  width         integer,
  height        integer,
  -- what is served: [{name, key, contentType, size, width, height}], display first
  variants      jsonb NOT NULL,
  -- the untouched upload, kept only where configured, for admins only
  original_key  text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_incident_idx ON media (incident_id, created_at, id);

-- Uploads per person over the last day (the daily quota). A ledger rather than a count of media
-- rows, so uploading and deleting again does not reset the quota.
CREATE TABLE media_uploads (
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  bytes       bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_uploads_user_idx ON media_uploads (user_id, created_at);
