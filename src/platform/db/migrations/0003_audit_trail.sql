-- The audit trail (issue "Identity and access", point 6): append-only, partitioned by month,
-- every row sealed into a SHA-256 hash chain.
--
-- Writers insert rows unsealed (seq, prev_hash, hash NULL) inside their own transactions and take
-- no lock beyond their row, so incident creation keeps its throughput. A sealer (audit_seal,
-- called by the job runner) later gives the committed rows consecutive numbers and chains each
-- one's hash to the previous one, under a transaction-level advisory lock. `audit verify`
-- recomputes the chain in Node and reports any edited, deleted or inserted row.
-- Written for PostgreSQL 15 + PostGIS 3.3 (server) and PostgreSQL 18 (PGlite); sha256(bytea) is
-- built in since PostgreSQL 11, so pgcrypto is not needed.

DROP TABLE audit_log;

-- A sequence, not an identity column: identity columns on partitioned tables need PostgreSQL 17.
CREATE SEQUENCE audit_log_id_seq AS bigint;

CREATE TABLE audit_log (
  id          bigint NOT NULL DEFAULT nextval('audit_log_id_seq'),
  actor_id    uuid,
  action      text NOT NULL,
  entity_type text NOT NULL,
  entity_id   text NOT NULL,
  data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  before      jsonb,
  after       jsonb,
  request_id  text,
  ip          text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- set once, by the sealer: position in the chain, the previous row's hash, this row's hash
  seq         bigint,
  prev_hash   bytea,
  hash        bytea,
  -- the partition key must be part of every unique index of a partitioned table
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;

CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
-- the chain walk of `audit verify`
CREATE INDEX audit_log_seq_idx ON audit_log (seq);
-- what the sealer still has to do: stays tiny, since rows leave it once sealed
CREATE INDEX audit_log_unsealed_idx ON audit_log (id) WHERE hash IS NULL;

-- Rows a month has no partition for land here, so an insert never fails; audit_ensure_partitions
-- keeps it empty by making the months ahead of time.
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;

-- The end of the chain, kept apart from the rows: deleting the newest sealed rows leaves the
-- head pointing past the end, which `audit verify` reports (a chain alone cannot show a cut tail).
CREATE TABLE audit_chain_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq       bigint NOT NULL,
  hash      bytea NOT NULL,
  sealed_at timestamptz NOT NULL DEFAULT now()
);
-- the genesis: seq 0 and 32 zero bytes, the prev_hash of row 1
INSERT INTO audit_chain_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_log_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: TRUNCATE refused' USING ERRCODE = 'insufficient_privilege';
END $$;

-- One month's partition (month_start is any day of the month, read in UTC). Made in the schema
-- audit_log lives in, whatever the caller's search path. Returns true when it made one.
CREATE FUNCTION audit_make_partition(month_start date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  parent_schema text;
  first_day     date := date_trunc('month', month_start)::date;
  part_name     text := format('audit_log_%s', to_char(first_day, 'YYYY_MM'));
  lower_bound   timestamptz := (first_day::timestamp AT TIME ZONE 'UTC');
  upper_bound   timestamptz := ((first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC');
BEGIN
  SELECT n.nspname INTO parent_schema
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.oid = 'audit_log'::regclass;
  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = parent_schema AND c.relname = part_name) THEN
    RETURN false;
  END IF;
  -- Rows of that month already in the default partition would make CREATE fail; they cannot be
  -- moved (the trail is append-only), so the month stays in the default partition.
  IF EXISTS (SELECT 1 FROM audit_log_default WHERE created_at >= lower_bound AND created_at < upper_bound) THEN
    RAISE WARNING 'audit_log: % has rows in the default partition; partition % not made', first_day, part_name;
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.audit_log FOR VALUES FROM (%L) TO (%L)',
                 parent_schema, part_name, parent_schema, lower_bound, upper_bound);
  -- row triggers reach the partitions from audit_log; TRUNCATE triggers do not
  EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON %I.%I
                  FOR EACH STATEMENT EXECUTE FUNCTION %I.audit_log_refuse_truncate()',
                 parent_schema, part_name, parent_schema);
  RETURN true;
END $$;

-- For a maintenance job: makes the partitions of this month and the next months_ahead months
-- (UTC) that do not exist yet; returns how many it made. Idempotent, and cheap when nothing is
-- missing (no DDL, so no lock on audit_log).
CREATE FUNCTION audit_ensure_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  made  integer := 0;
  this_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
  FOR i IN 0 .. greatest(months_ahead, 0) LOOP
    IF audit_make_partition((this_month + make_interval(months => i))::date) THEN
      made := made + 1;
    END IF;
  END LOOP;
  RETURN made;
END $$;

-- Audit rows are stamped now(), so the months that matter start now: last month (a clock or a
-- transaction across the month's end) to a year ahead; the maintenance job keeps three months
-- ahead from then on. Rows with older timestamps (an import of history) go to the default
-- partition. Each partition costs ~40 ms to make on PGlite, for every test schema, so not more.
SELECT audit_make_partition((date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date);
SELECT audit_ensure_partitions(12);

-- One field of the canonical form: its UTF-8 length, a colon and the text, or "~" for NULL. The
-- length prefix makes the concatenation unambiguous whatever the fields contain.
CREATE FUNCTION audit_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN value IS NULL THEN '~'
              ELSE octet_length(convert_to(value, 'UTF8'))::text || ':' || value END
$$;

-- hash = sha256(prev_hash || canonical form of the row). Timestamps enter as microseconds since
-- the epoch and jsonb as its (normalized, deterministic) text, so neither TimeZone nor DateStyle
-- changes a hash. src/cli/audit.ts recomputes the same form in Node, independently.
CREATE FUNCTION audit_row_hash(
  prev_hash bytea, seq bigint, id bigint, created_at timestamptz, actor_id uuid, action text,
  entity_type text, entity_id text, data jsonb, before jsonb, after jsonb, request_id text, ip text
) RETURNS bytea
LANGUAGE sql STABLE AS $$
  SELECT sha256(prev_hash || convert_to(
    'buurtwag-audit-v1'
    || audit_field(seq::text) || audit_field(id::text)
    || audit_field(((extract(epoch FROM created_at) * 1000000)::bigint)::text)
    || audit_field(actor_id::text) || audit_field(action) || audit_field(entity_type)
    || audit_field(entity_id) || audit_field(data::text) || audit_field(before::text)
    || audit_field(after::text) || audit_field(request_id) || audit_field(ip),
    'UTF8'))
$$;

-- Append-only. INSERT only of unsealed rows; DELETE never; UPDATE only the one sealing update,
-- which fills seq/prev_hash/hash of an unsealed row with the hash its content gives and changes
-- nothing else. TRUNCATE never.
CREATE FUNCTION audit_log_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL THEN
      RAISE EXCEPTION 'audit_log rows are inserted unsealed' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE'
     AND OLD.hash IS NULL AND OLD.seq IS NULL AND OLD.prev_hash IS NULL
     AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL
     AND (NEW.id, NEW.actor_id, NEW.action, NEW.entity_type, NEW.entity_id, NEW.data, NEW.before,
          NEW.after, NEW.request_id, NEW.ip, NEW.created_at)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.actor_id, OLD.action, OLD.entity_type, OLD.entity_id, OLD.data, OLD.before,
          OLD.after, OLD.request_id, OLD.ip, OLD.created_at)
     AND NEW.hash IS NOT DISTINCT FROM audit_row_hash(
           NEW.prev_hash, NEW.seq, NEW.id, NEW.created_at, NEW.actor_id, NEW.action, NEW.entity_type,
           NEW.entity_id, NEW.data, NEW.before, NEW.after, NEW.request_id, NEW.ip) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_append_only
  BEFORE INSERT OR UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_guard();


CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_truncate();
CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log_default
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_truncate();

-- The sealer: gives up to max_rows committed, unsealed rows (in id order) the next numbers of the
-- chain, in the caller's transaction. A second sealer running at the same time finds the lock
-- taken and returns 0 at once instead of waiting. Writers never take this lock.
CREATE FUNCTION audit_seal(max_rows integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  head_seq  bigint;
  head_hash bytea;
  next_hash bytea;
  sealed    integer := 0;
  r         record;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtextextended('buurtwag.audit.seal.' || 'audit_log'::regclass::oid::text, 0)) THEN
    RETURN 0;
  END IF;
  SELECT seq, hash INTO head_seq, head_hash FROM audit_chain_head FOR UPDATE;
  FOR r IN
    SELECT * FROM audit_log WHERE hash IS NULL ORDER BY id LIMIT max_rows FOR UPDATE
  LOOP
    next_hash := audit_row_hash(head_hash, head_seq + 1, r.id, r.created_at, r.actor_id, r.action,
                                r.entity_type, r.entity_id, r.data, r.before, r.after, r.request_id, r.ip);
    UPDATE audit_log SET seq = head_seq + 1, prev_hash = head_hash, hash = next_hash
    WHERE id = r.id AND created_at = r.created_at;
    head_seq := head_seq + 1;
    head_hash := next_hash;
    sealed := sealed + 1;
  END LOOP;
  IF sealed > 0 THEN
    UPDATE audit_chain_head SET seq = head_seq, hash = head_hash, sealed_at = now();
  END IF;
  RETURN sealed;
END $$;
