import { createHash } from 'node:crypto';
import type { Queryable } from '../platform/db/database.js';

/**
 * `audit verify`: walks the sealed audit rows in chain order and recomputes every hash here, in
 * Node, from the stored content, apart from the SQL that sealed them (audit_row_hash in migration
 * 0003), so a mistake or a forgery on one side does not vouch for itself. It reports
 *  - a gap in seq (a sealed row deleted), or a head past the last row (the newest ones deleted);
 *  - a hash that does not match the row's content (a row edited);
 *  - a prev_hash that does not match the previous row's hash, or a seq seen twice (a row inserted
 *    or the rows reordered);
 *  - half-sealed rows.
 * Rows not sealed yet are counted, not checked: the sealer has not reached them.
 */
export interface VerifyResult {
  rows: number;
  unsealed: number;
  problems: string[];
}

const PAGE = 1000;
// a wrecked table must not print millions of lines or exhaust memory
const MAX_PROBLEMS = 1000;
const GENESIS = Buffer.alloc(32);

interface ChainRow {
  seq: string;
  id: string;
  micros: string;
  actor_id: string | null;
  action: string;
  entity_type: string;
  entity_id: string;
  data: string;
  before: string | null;
  after: string | null;
  request_id: string | null;
  ip: string | null;
  prev_hash: string;
  hash: string;
}

/** One field of the canonical form: UTF-8 length, a colon and the text; "~" for NULL. */
function field(value: string | null): string {
  return value === null ? '~' : `${Buffer.byteLength(value, 'utf8')}:${value}`;
}

/** sha256(prev_hash || canonical form), the chain's definition (see migration 0003). */
export function rowHash(prevHash: Buffer, row: Omit<ChainRow, 'prev_hash' | 'hash'>): Buffer {
  const canonical =
    'buurtwag-audit-v1' +
    field(row.seq) +
    field(row.id) +
    field(row.micros) +
    field(row.actor_id) +
    field(row.action) +
    field(row.entity_type) +
    field(row.entity_id) +
    field(row.data) +
    field(row.before) +
    field(row.after) +
    field(row.request_id) +
    field(row.ip);
  return createHash('sha256').update(prevHash).update(canonical, 'utf8').digest();
}

export async function verifyAudit(db: Queryable): Promise<VerifyResult> {
  const problems: string[] = [];
  const report = (message: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(message);
    else if (problems.length === MAX_PROBLEMS) problems.push('… more problems not listed');
  };

  const counts = await db.query<{ unsealed: number; partial: number }>({
    text: `SELECT count(*) FILTER (WHERE seq IS NULL AND prev_hash IS NULL AND hash IS NULL) AS unsealed,
                  count(*) FILTER (WHERE NOT (seq IS NULL AND prev_hash IS NULL AND hash IS NULL)
                                     AND (seq IS NULL OR prev_hash IS NULL OR hash IS NULL)) AS partial
           FROM audit_log`,
  });
  const unsealed = Number(counts.rows[0]?.unsealed ?? 0);
  const partial = Number(counts.rows[0]?.partial ?? 0);
  if (partial > 0) report(`${partial} row(s) are half sealed (seq, prev_hash and hash must be set together)`);

  let rows = 0;
  let lastSeq = 0;
  let lastHash = GENESIS;
  let after: { seq: string; id: string } = { seq: '-1', id: '-1' };
  for (;;) {
    // Keyset on (seq, id), so rows sharing a seq are all seen; text forms, so no value passes
    // through a JavaScript number or Date on its way into the hash.
    const page = await db.query<ChainRow>({
      text: `SELECT seq::text, id::text, ((extract(epoch FROM created_at) * 1000000)::bigint)::text AS micros,
                    actor_id::text, action, entity_type, entity_id, data::text, before::text, after::text,
                    request_id, ip, encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
             FROM audit_log
             WHERE seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL
               AND (seq, id) > ($1::bigint, $2::bigint)
             ORDER BY audit_log.seq, audit_log.id
             LIMIT ${PAGE}`,
      values: [after.seq, after.id],
    });
    for (const row of page.rows) {
      rows++;
      const seq = Number(row.seq);
      const where = `seq ${row.seq} (id ${row.id})`;
      const prevHash = Buffer.from(row.prev_hash, 'hex');
      if (seq === lastSeq) {
        report(`${where}: seq ${row.seq} appears more than once (a row inserted)`);
      } else if (seq > lastSeq + 1) {
        report(
          seq === lastSeq + 2
            ? `seq ${lastSeq + 1} is missing (a row deleted)`
            : `seq ${lastSeq + 1}..${seq - 1} are missing (rows deleted)`,
        );
      } else if (!prevHash.equals(lastHash)) {
        report(`${where}: prev_hash does not match the hash of seq ${lastSeq} (a row inserted or reordered)`);
      }
      if (!rowHash(prevHash, row).equals(Buffer.from(row.hash, 'hex'))) {
        report(`${where}: hash does not match the row's content (the row was edited)`);
      }
      lastSeq = seq;
      lastHash = Buffer.from(row.hash, 'hex');
    }
    const last = page.rows[page.rows.length - 1];
    if (!last || page.rows.length < PAGE) break;
    after = { seq: last.seq, id: last.id };
  }

  const head = await db.query<{ seq: string; hash: string }>({
    text: `SELECT seq::text, encode(hash, 'hex') AS hash FROM audit_chain_head`,
  });
  const headRow = head.rows[0];
  if (!headRow) {
    report('the chain head (audit_chain_head) is missing');
  } else {
    const headSeq = Number(headRow.seq);
    if (headSeq > lastSeq) {
      report(
        headSeq === lastSeq + 1
          ? `seq ${headSeq} is missing at the end of the chain (the newest sealed row deleted)`
          : `seq ${lastSeq + 1}..${headSeq} are missing at the end of the chain (the newest sealed rows deleted)`,
      );
    } else if (headSeq < lastSeq) {
      report(`rows past the chain head (seq ${headSeq}) exist up to seq ${lastSeq} (rows inserted)`);
    } else if (!Buffer.from(headRow.hash, 'hex').equals(lastHash)) {
      report(`the last row's hash does not match the chain head at seq ${headSeq}`);
    }
  }
  return { rows, unsealed, problems };
}

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** `audit verify`: prints a summary; 0 when the chain is intact, 1 on any problem. */
export async function auditCommand(db: Queryable, args: string[], out: CliOutput): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'verify' || rest.length > 0) {
    out.stderr('audit: use `audit verify`\n');
    return 1;
  }
  const result = await verifyAudit(db);
  for (const problem of result.problems) out.stderr(`audit verify: ${problem}\n`);
  const summary = `${result.rows} sealed row(s) checked, ${result.unsealed} not sealed yet`;
  if (result.problems.length > 0) {
    out.stderr(`audit verify: FAILED: ${result.problems.length} problem(s); ${summary}\n`);
    return 1;
  }
  out.stdout(`audit verify: the chain is intact; ${summary}\n`);
  return 0;
}
