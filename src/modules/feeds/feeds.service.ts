import { createHash } from 'node:crypto';
import type { Database } from '../../platform/db/database.js';
import { AppError, invalid, type FieldError } from '../../platform/http/errors.js';
import { pick, t, type Lang } from '../../i18n/i18n.js';
import { place } from '../notifications/notifications.templates.js';
import * as repo from './feeds.repository.js';
import type { FeedFormat } from './feeds.schemas.js';
import { renderAtom, renderRss } from './feeds.xml.js';

export interface Feed {
  body: string;
  contentType: string;
  etag: string;
  /** the newest change among the entries; null for an empty feed */
  lastModified: Date | null;
}

export interface FeedRequest {
  format: FeedFormat;
  lang: Lang;
  /** PUBLIC_URL without a trailing slash */
  base: string;
  /** the path and query this feed was asked for (rel=self) */
  path: string;
}

export type FeedTarget =
  | { kind: 'all' }
  | { kind: 'community'; id: string }
  | { kind: 'category'; slug: string }
  | { kind: 'area'; near?: string; radius?: number; bbox?: string };

const CONTENT_TYPES: Record<FeedFormat, string> = {
  rss: 'application/rss+xml; charset=utf-8',
  atom: 'application/atom+xml; charset=utf-8',
};

function numbers(text: string, count: number): number[] | null {
  const parts = text.split(',');
  if (parts.length !== count) return null;
  const values = parts.map((p) => (p.trim() === '' ? NaN : Number(p)));
  return values.every(Number.isFinite) ? values : null;
}

/** The area feed's filter, or the fields that are wrong. */
function areaFilter(target: { near?: string; radius?: number; bbox?: string }): repo.FeedFilter {
  const errors: FieldError[] = [];
  let filter: repo.FeedFilter | null = null;
  if ((target.near === undefined) === (target.bbox === undefined)) {
    errors.push({ path: '/query/near', message: 'validation.required' });
  } else if (target.near !== undefined) {
    const p = numbers(target.near, 2);
    if (!p) errors.push({ path: '/query/near', message: 'validation.near' });
    else if (Math.abs(p[0]!) > 180) errors.push({ path: '/query/near', message: 'validation.longitude' });
    else if (Math.abs(p[1]!) > 85) errors.push({ path: '/query/near', message: 'validation.near_latitude' });
    else filter = { kind: 'near', lon: p[0]!, lat: p[1]!, radius: target.radius ?? 1000 };
  } else {
    const b = numbers(target.bbox!, 4);
    if (!b || b[0]! >= b[2]! || b[1]! >= b[3]! || b.some((n, i) => Math.abs(n) > (i % 2 === 0 ? 180 : 90)))
      errors.push({ path: '/query/bbox', message: 'validation.bbox' });
    else filter = { kind: 'bbox', box: b as [number, number, number, number] };
  }
  if (target.radius !== undefined && target.near === undefined)
    errors.push({ path: '/query/radius', message: 'validation.radius_without_near' });
  if (errors.length > 0 || !filter) throw invalid(errors);
  return filter;
}

/** A public feed of the newest public reports, in RSS 2.0 or Atom 1.0. */
export async function buildFeed(db: Database, target: FeedTarget, request: FeedRequest): Promise<Feed> {
  const { lang } = request;
  let filter: repo.FeedFilter;
  let title: string;
  let site = `${request.base}/`;
  switch (target.kind) {
    case 'all':
      filter = { kind: 'all' };
      title = t(lang, 'feed.title.all');
      break;
    case 'community': {
      const name = await repo.communityName(db, target.id);
      if (name === null) throw new AppError('not_found', 'error.not_found.detail');
      filter = { kind: 'community', communityId: target.id };
      title = t(lang, 'feed.title.community', { name });
      break;
    }
    case 'category': {
      const name = await repo.categoryName(db, target.slug);
      if (name === null) throw new AppError('not_found', 'error.not_found.detail');
      filter = { kind: 'category', slug: target.slug };
      title = t(lang, 'feed.title.category', { name: pick(name, lang) });
      break;
    }
    case 'area': {
      filter = areaFilter(target);
      if (filter.kind === 'near') {
        title = t(lang, 'feed.title.area', { radius: filter.radius, place: place([filter.lon, filter.lat]) });
        site = `${request.base}/?near=${filter.lon},${filter.lat}`;
      } else {
        title = t(lang, 'feed.title.bbox', { place: (filter as { box: number[] }).box.join(', ') });
      }
      break;
    }
  }
  const rows = await repo.feedIncidents(db, filter);
  const newest = rows.reduce<number | null>((max, r) => {
    const at = new Date(r.updated_at).getTime();
    return max === null || at > max ? at : max;
  }, null);
  // HTTP dates have whole seconds: compare and send them so
  const lastModified = newest === null ? null : new Date(Math.floor(newest / 1000) * 1000);
  const meta = {
    title,
    selfUrl: `${request.base}${request.path}`,
    siteUrl: site,
    base: request.base,
    lang,
    updated: lastModified ?? new Date(0),
  };
  const body = request.format === 'rss' ? renderRss(meta, rows) : renderAtom(meta, rows);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, contentType: CONTENT_TYPES[request.format], etag, lastModified };
}

/** RFC 9110 conditional GET: If-None-Match wins; If-Modified-Since only without it. */
export function notModified(feed: Feed, headers: { 'if-none-match'?: string; 'if-modified-since'?: string }): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    return inm
      .split(',')
      .map((tag) => tag.trim().replace(/^W\//, ''))
      .some((tag) => tag === '*' || tag === feed.etag);
  }
  const ims = headers['if-modified-since'];
  if (ims === undefined || feed.lastModified === null) return false;
  const since = Date.parse(ims);
  return Number.isFinite(since) && feed.lastModified.getTime() <= since;
}
