import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Database } from '../platform/db/database.js';
import { AppError } from '../platform/http/errors.js';
import { t } from '../i18n/i18n.js';
import type { Actor } from '../modules/identity/actor.js';
import { CsvReader } from '../modules/exports/exports.csv.js';
import { countForExport } from '../modules/exports/exports.repository.js';
import { exportIncidents } from '../modules/exports/exports.service.js';
import { IMPORT_FIELDS, importIncidents, type ImportRecord } from '../modules/exports/imports.service.js';
import { STATUSES, type Status } from '../modules/incidents/incidents.schemas.js';
import { ProgressBar, type ProgressStream } from './progress.js';

/** The operator at the command line: may do what an admin may, and is named nowhere. */
export const CLI_ACTOR: Actor = Object.freeze({
  userId: null,
  roles: Object.freeze([{ role: 'admin' as const, communityId: null }]),
});

export interface TransferIo {
  stdout: { write(s: string): boolean };
  stderr: ProgressStream;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `export --format csv|geojson [--community ID] [--status a,b] [--category slug,…] [--out FILE]`:
 * every matching incident, oldest first, to FILE or stdout, with a progress bar on stderr.
 */
export async function exportCommand(db: Database, args: string[], io: TransferIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      format: { type: 'string', default: 'csv' },
      community: { type: 'string' },
      status: { type: 'string' },
      category: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const fail = (message: string) => {
    io.stderr.write(`export: ${message}\n`);
    return 1;
  };
  if (values.format !== 'csv' && values.format !== 'geojson') return fail('--format must be csv or geojson');
  if (values.community !== undefined && !UUID.test(values.community)) return fail('--community must be a community id');
  const statuses = values.status?.split(',').map((s) => s.trim()) ?? null;
  if (statuses?.some((s) => !(STATUSES as readonly string[]).includes(s))) {
    return fail(`--status must be among: ${STATUSES.join(', ')}`);
  }
  const categories = values.category?.split(',').map((s) => s.trim()) ?? null;
  const communityId = values.community?.toLowerCase() ?? null;

  const total = await countForExport(db, {
    communityId,
    statuses: statuses as Status[] | null,
    categorySlugs: categories,
  });
  const bar = new ProgressBar('export', total, { stream: io.stderr });
  let file;
  try {
    file = await exportIncidents(
      db,
      { actor: CLI_ACTOR, lang: 'en', requestId: `cli-export-${process.pid}`, clientAddress: 'cli' },
      {
        format: values.format,
        ...(communityId ? { communityId } : {}),
        ...(values.status ? { status: values.status } : {}),
        ...(values.category ? { category: values.category } : {}),
      },
      { onRows: (done) => bar.update(done) },
    );
  } catch (err) {
    if (err instanceof AppError) return fail(problemText(err));
    throw err;
  }
  const out = values.out ? fs.createWriteStream(values.out) : null;
  const write = (chunk: string) =>
    new Promise<void>((resolve, reject) => {
      const target = out ?? io.stdout;
      if (target.write(chunk)) return resolve();
      if (out) out.once('drain', resolve).once('error', reject);
      else resolve();
    });
  for await (const chunk of file.chunks) await write(chunk);
  if (out)
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  bar.done();
  return 0;
}

/**
 * `import --file F [--format csv|geojson] [--dry-run]`: prints the report as JSON on stdout
 * (rows, imported, failed, errors: [{row, field, message}]); exit 1 when any row failed.
 */
export async function importCommand(db: Database, args: string[], io: TransferIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { file: { type: 'string' }, format: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } },
  });
  const fail = (message: string) => {
    io.stderr.write(`import: ${message}\n`);
    return 1;
  };
  if (!values.file) return fail('--file is required');
  const format = values.format ?? (/\.(geo)?json$/i.test(values.file) ? 'geojson' : 'csv');
  if (format !== 'csv' && format !== 'geojson') return fail('--format must be csv or geojson');
  if (!fs.existsSync(values.file)) return fail(`no file ${values.file}`);

  let records: AsyncIterable<{ row: number; record: ImportRecord }>;
  let total: number;
  if (format === 'csv') {
    records = csvRecords(values.file, (unknown) =>
      io.stderr.write(`import: ignoring column(s) ${unknown.join(', ')} (known: ${IMPORT_FIELDS.join(', ')})\n`),
    );
    total = 0; // unknown until read: the bar counts rows
  } else {
    let features: unknown[];
    try {
      features = geojsonFeatures(JSON.parse(fs.readFileSync(values.file, 'utf8')));
    } catch (err) {
      return fail(`${values.file} is not a GeoJSON FeatureCollection: ${(err as Error).message}`);
    }
    total = features.length;
    records = featureRecords(features);
  }
  const bar = new ProgressBar(values['dry-run'] ? 'check' : 'import', total, { stream: io.stderr });
  const report = await importIncidents(db, CLI_ACTOR, records, {
    dryRun: values['dry-run'],
    source: path.basename(values.file),
    onProgress: (done) => bar.update(done, Math.max(total, done)),
  });
  bar.update(report.rows, Math.max(total, report.rows));
  bar.done();
  io.stdout.write(`${JSON.stringify(report)}\n`);
  return report.failed > 0 ? 1 : 0;
}

/**
 * Records of a CSV file with a header line, read in chunks (memory does not grow with the file).
 * Columns the import does not know (an export's id, reference, …) are left out.
 */
async function* csvRecords(
  file: string,
  onUnknownColumns: (names: string[]) => void,
): AsyncGenerator<{ row: number; record: ImportRecord }> {
  const reader = new CsvReader();
  let header: string[] | null = null;
  const ready: Array<{ row: number; record: ImportRecord }> = [];
  const take = (cells: string[], line: number) => {
    if (header === null) {
      header = cells.map((c) =>
        c
          .trim()
          .toLowerCase()
          .replace(/^\ufeff/, ''),
      );
      const unknown = header.filter((h) => !(IMPORT_FIELDS as readonly string[]).includes(h));
      if (unknown.length > 0) onUnknownColumns(unknown);
      return;
    }
    const record: Record<string, string> = {};
    header.forEach((name, i) => {
      if ((IMPORT_FIELDS as readonly string[]).includes(name)) record[name] = cells[i] ?? '';
    });
    ready.push({ row: line, record: record as ImportRecord });
  };
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
    reader.push(chunk as string, take);
    yield* ready.splice(0);
  }
  reader.end(take);
  yield* ready.splice(0);
}

function geojsonFeatures(doc: unknown): unknown[] {
  const fc = doc as { type?: unknown; features?: unknown };
  if (fc?.type !== 'FeatureCollection' || !Array.isArray(fc.features)) throw new Error('no "features" array');
  return fc.features;
}

/** A feature's properties, with lon/lat from its Point (other geometries fail on lon and lat). */
async function* featureRecords(features: unknown[]): AsyncGenerator<{ row: number; record: ImportRecord }> {
  for (const [index, f] of features.entries()) {
    const feature = f as { geometry?: { type?: unknown; coordinates?: unknown }; properties?: unknown };
    const props = (feature?.properties && typeof feature.properties === 'object' ? feature.properties : {}) as Record<
      string,
      unknown
    >;
    const coords =
      feature?.geometry?.type === 'Point' && Array.isArray(feature.geometry.coordinates)
        ? (feature.geometry.coordinates as unknown[])
        : [];
    // an exported file names the category {slug, name}; an import file may give the slug alone
    const category =
      props.category && typeof props.category === 'object'
        ? (props.category as { slug?: unknown }).slug
        : props.category;
    yield {
      row: index + 1,
      record: {
        ...props,
        category,
        created_at: props.created_at ?? props.createdAt,
        acknowledged_at: props.acknowledged_at ?? props.acknowledgedAt,
        resolved_at: props.resolved_at ?? props.resolvedAt,
        is_public: props.is_public ?? props.isPublic,
        lon: coords[0],
        lat: coords[1],
      },
    };
  }
}

function problemText(err: AppError): string {
  return [t('en', err.detail, err.params), ...err.fields.map((f) => `${f.path}: ${t('en', f.message, f.params)}`)].join(
    ' ',
  );
}
