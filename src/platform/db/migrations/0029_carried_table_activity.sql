-- Embedded mode: what the table statistics had counted when PGlite last stopped.
--
-- PostgreSQL writes its table statistics to pg_stat/ at a clean shutdown and reads them back at
-- start; PGlite does not (measured: 900 dead rows before a clean close, 0 after the start), so
-- every start of an embedded node forgot the dead and changed rows the vacuum job
-- (maintenance.vacuum.ts) goes by, and a table that changes slowly between restarts was never
-- vacuumed or analyzed. The embedded engine saves the counts here when it stops
-- (platform/db/embedded.ts), adding them to what was saved before; the vacuum job adds them to
-- the statistics and deletes a table's row once it has vacuumed it. Server PostgreSQL keeps its
-- own statistics and leaves this table empty.
CREATE TABLE carried_table_activity (
  schema_name text NOT NULL,
  table_name text NOT NULL,
  dead float8 NOT NULL,
  modified_since_analyze float8 NOT NULL,
  PRIMARY KEY (schema_name, table_name)
);
