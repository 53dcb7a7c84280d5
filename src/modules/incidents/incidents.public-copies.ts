import type { FastifyBaseLogger } from 'fastify';
import type { Database, Queryable } from '../../platform/db/database.js';
import { RawJson } from '../../platform/http/json-bytes.js';
import { pick, type Lang } from '../../i18n/i18n.js';
import type { Translations } from '../categories/categories.schemas.js';
import { ANONYMOUS, type Actor } from '../identity/actor.js';
import { canView } from './incidents.policy.js';
import { presentIncident, presentationFacts } from './incidents.presenter.js';
import * as copies from './incidents.public-copies.repository.js';
import { findIncidentsByIds, type IncidentRow, type ListFilter } from './incidents.repository.js';

/**
 * Public copies (0031_public_copies.sql): every public incident rendered once as the public sees
 * it, so the public map's list is an index-only scan whose rows go out as they are. The renderer
 * below keeps the copies made; until it has, a list renders the queued incident itself, so a
 * list shows every change the moment it commits.
 */

/**
 * The query of a list the copies answer, or null: a signed-out visitor's box or `near` list,
 * nearest first, filtered by nothing but status, priority and category.
 */
export function publicListQuery(actor: Actor, f: ListFilter): Omit<copies.PublicListQuery, 'limit' | 'after'> | null {
  const plain =
    actor.userId === null &&
    actor.roles.length === 0 &&
    f.sort === 'distance' &&
    f.q === null &&
    f.communityId === null &&
    f.since === null &&
    f.until === null &&
    f.reporterId === null &&
    f.assigneeId === null &&
    !f.overdue;
  if (!plain || (f.bbox !== null) === (f.near !== null)) return null;
  const area: copies.PublicListQuery['area'] = f.bbox
    ? { kind: 'box', box: f.bbox }
    : { kind: 'near', lon: f.near!.lon, lat: f.near!.lat, radius: f.near!.radius };
  return { area, statuses: f.statuses, priorities: f.priorities, categorySlugs: f.categorySlugs };
}

/** An incident's public copy: presented to a signed-out visitor, without its (localized) category. */
export function renderPublicDoc(row: IncidentRow): string {
  const { category: _category, ...rest } = presentIncident(row, ANONYMOUS, 'en');
  return asciiJson(rest);
}

function categoryJson(id: string, slug: string, name: Translations, lang: Lang): string {
  return asciiJson({ id, slug, name: pick(name, lang) });
}

/**
 * JSON.stringify's text with every character beyond ASCII written as its \u escape: the same
 * value, and text that V8 decodes from the database and writes out on its fastest paths (an
 * 800-byte copy with one ’ in it took 1.5 µs to decode and encode, an ASCII one 0.25 µs).
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(NOT_ASCII, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
const NOT_ASCII = /[\u007f-\uffff]/g;

/**
 * A listed incident: its category, the rest of its copy, and its distance from a `near` point
 * (one that would give a blurred point away by trilateration is rounded to 250 m, as
 * presentIncident does).
 */
function listed(category: string, doc: string, distance: number | null, blurred: boolean): RawJson {
  if (distance === null) return new RawJson('{"category":', category, ',', doc.slice(1));
  const shown = blurred ? Math.round(distance / 250) * 250 : Math.round(distance * 10) / 10;
  return new RawJson('{"category":', category, ',', doc.slice(1, -1), `,"distance":${shown}}`);
}

interface CategoryNames {
  version: string;
  json: Map<string, Record<Lang, string>>;
}
const categoryNames = new WeakMap<Queryable, CategoryNames>();

async function categoriesAt(db: Queryable, version: string): Promise<CategoryNames> {
  const cached = categoryNames.get(db);
  if (cached?.version === version) return cached;
  const loaded = await copies.loadCategoryNames(db);
  const json = new Map(
    loaded.categories.map((c) => [
      c.id,
      { en: categoryJson(c.id, c.slug, c.name, 'en'), af: categoryJson(c.id, c.slug, c.name, 'af') },
    ]),
  );
  const names = { version: loaded.version, json };
  categoryNames.set(db, names);
  return names;
}

/**
 * One page of a public list, sorted by (distance of the public point from the origin in the
 * Mercator plane, id): `limit` rows at most, each once across pages. Copies and queued incidents
 * come from one statement, so one snapshot decides which rows are on the page.
 */
export async function listPublic(
  db: Queryable,
  q: copies.PublicListQuery,
  lang: Lang,
): Promise<Array<{ item: RawJson; key: [number, string] }>> {
  const rows = await copies.listPublic(db, q);
  let copied = rows.filter((r) => r.doc !== null);
  const queued = rows.filter((r) => r.doc === null);
  const byKey = (a: copies.PublicListRow, b: copies.PublicListRow) =>
    a.sort_distance - b.sort_distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (copied.length >= q.limit + copies.TIE_ROWS_BEYOND_PAGE) {
    // the cap cut a tie at the end short: that distance's whole group, in id order
    const tie = copied[copied.length - 1]!.sort_distance;
    const group = await copies.listPublicTie(db, q, tie);
    copied = [...copied.filter((r) => r.sort_distance < tie), ...group];
  }
  const page = [...copied, ...queued].sort(byKey).slice(0, q.limit);
  if (page.length === 0) return [];

  const names = await categoriesAt(db, rows[0]!.categories_version);
  // queued incidents, and (which the version rules out) a copy whose category the cache lacks
  const live = await liveRows(
    db,
    page.filter((r) => r.doc === null || !names.json.has(r.category_id)).map((r) => r.id),
  );
  const out: Array<{ item: RawJson; key: [number, string] }> = [];
  for (const r of page) {
    const key: [number, string] = [r.sort_distance, r.id];
    const category = names.json.get(r.category_id);
    if (r.doc !== null && category) {
      out.push({ item: listed(category[lang], r.doc, r.distance, r.blurred), key });
      continue;
    }
    const row = live.get(r.id);
    // gone or no longer public since the page's statement: left out, its place kept by the cursor
    if (row) {
      const rowCategory = categoryJson(row.category_id, row.category_slug, row.category_name, lang);
      out.push({ item: listed(rowCategory, renderPublicDoc(row), r.distance, r.blurred), key });
    }
  }
  return out;
}

/** Incidents rendered now for the public, where no copy is made yet. */
async function liveRows(db: Queryable, ids: string[]): Promise<Map<string, IncidentRow>> {
  if (ids.length === 0) return new Map();
  const rows = await findIncidentsByIds(db, ids);
  return new Map(rows.filter((row) => canView(ANONYMOUS, presentationFacts(row))).map((row) => [row.id, row]));
}

/** Renders up to `batch` queued incidents' copies in one transaction; answers how many it took. */
export async function renderQueuedCopies(db: Database, batch = 500): Promise<number> {
  return db.transaction(async (tx) => {
    const { taken, rows } = await copies.takeQueued(tx, batch);
    if (taken.length === 0) return 0;
    await copies.saveCopies(
      tx,
      taken,
      rows.map((row) => ({ id: row.id, doc: renderPublicDoc(row) })),
    );
    return taken.length;
  });
}

/** Renders until the queue is empty (or only holds incidents others have locked). */
export async function renderAllQueuedCopies(
  db: Database,
  /** called with each batch's count */
  onProgress?: (rendered: number) => void,
  batch = 2000,
): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await renderQueuedCopies(db, batch);
    total += n;
    onProgress?.(n);
    if (n < batch) return total;
  }
}

/**
 * Every public list reads the whole queue, which the renderer keeps near empty; but each row it
 * took leaves a dead one, and until a vacuum the list reads those pages too (0.17 of a W4
 * statement's 0.70 ms after one W1 run, where autovacuum is off). The table is small, so its
 * vacuum is quick; a vacuum also gives the emptied pages back.
 */
const QUEUE_VACUUM_AFTER = 5_000;

/** How often a node looks for queued incidents. */
const RENDER_INTERVAL_MS = 1000;

/**
 * The renderer of one node: drains the queue in batches, every second. Nodes share the queue
 * (locked rows are skipped), so any number may run.
 */
export function startPublicCopyRenderer(db: Database, log: FastifyBaseLogger): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  let takenSinceVacuum = 0;
  const round = async () => {
    takenSinceVacuum += await renderAllQueuedCopies(db, undefined, 500);
    if (takenSinceVacuum >= QUEUE_VACUUM_AFTER) {
      takenSinceVacuum = 0;
      await copies.vacuumQueue(db);
    }
  };
  const tick = () => {
    running = round()
      // the next round tries again; a list meanwhile renders queued incidents itself
      .catch((err: unknown) => log.warn({ err }, 'rendering public copies failed'))
      .finally(() => {
        running = null;
        schedule();
      });
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, RENDER_INTERVAL_MS);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
