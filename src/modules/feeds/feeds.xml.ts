import { pick, t, type Lang } from '../../i18n/i18n.js';
import { place } from '../notifications/notifications.templates.js';
import type { FeedRow } from './feeds.repository.js';

export interface FeedMeta {
  title: string;
  /** this feed's own URL (rel=self) */
  selfUrl: string;
  /** the web app page to read it on */
  siteUrl: string;
  /** https://host: links to reports go to <base>/incidents/<reference> */
  base: string;
  lang: Lang;
  updated: Date;
}

/** XML 1.0 text and attribute values: markup escaped, characters XML cannot hold dropped. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function statusLabel(lang: Lang, status: string): string {
  try {
    return t(lang, `status.${status}` as Parameters<typeof t>[1]);
  } catch {
    return status;
  }
}

/** The entry's text: what happened, its status, where (blurred for sensitive reports). */
function summary(row: FeedRow, lang: Lang): string {
  const where = row.address ? `${row.address} (${place([row.lon, row.lat])})` : place([row.lon, row.lat]);
  return [
    row.description,
    t(lang, 'feed.status', { status: statusLabel(lang, row.status) }),
    t(lang, 'feed.where', { place: where }),
    ...(row.sensitive ? [t(lang, 'feed.approximate')] : []),
  ]
    .filter((s) => s.trim() !== '')
    .join('\n\n');
}

const link = (meta: FeedMeta, row: FeedRow) => `${meta.base}/incidents/${encodeURIComponent(row.reference)}`;

export function renderRss(meta: FeedMeta, rows: FeedRow[]): string {
  const items = rows.map(
    (row) => `    <item>
      <title>${escapeXml(row.title)}</title>
      <link>${escapeXml(link(meta, row))}</link>
      <guid isPermaLink="true">${escapeXml(link(meta, row))}</guid>
      <description>${escapeXml(summary(row, meta.lang))}</description>
      <category>${escapeXml(pick(row.category_name, meta.lang))}</category>
      <pubDate>${new Date(row.created_at).toUTCString()}</pubDate>
      <georss:point>${row.lat} ${row.lon}</georss:point>
    </item>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:georss="http://www.georss.org/georss">
  <channel>
    <title>${escapeXml(meta.title)}</title>
    <link>${escapeXml(meta.siteUrl)}</link>
    <description>${escapeXml(t(meta.lang, 'feed.description'))}</description>
    <language>${meta.lang === 'af' ? 'af-ZA' : 'en-ZA'}</language>
    <lastBuildDate>${meta.updated.toUTCString()}</lastBuildDate>
    <atom:link href="${escapeXml(meta.selfUrl)}" rel="self" type="application/rss+xml"/>
${items.join('\n')}
  </channel>
</rss>
`;
}

export function renderAtom(meta: FeedMeta, rows: FeedRow[]): string {
  const entries = rows.map(
    (row) => `  <entry>
    <id>${escapeXml(link(meta, row))}</id>
    <title type="text">${escapeXml(row.title)}</title>
    <link rel="alternate" type="text/html" href="${escapeXml(link(meta, row))}"/>
    <published>${new Date(row.created_at).toISOString()}</published>
    <updated>${new Date(row.updated_at).toISOString()}</updated>
    <category term="${escapeXml(row.category_slug)}" label="${escapeXml(pick(row.category_name, meta.lang))}"/>
    <summary type="text">${escapeXml(summary(row, meta.lang))}</summary>
    <georss:point>${row.lat} ${row.lon}</georss:point>
  </entry>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:georss="http://www.georss.org/georss" xml:lang="${meta.lang}">
  <id>${escapeXml(meta.selfUrl)}</id>
  <title type="text">${escapeXml(meta.title)}</title>
  <subtitle type="text">${escapeXml(t(meta.lang, 'feed.description'))}</subtitle>
  <updated>${meta.updated.toISOString()}</updated>
  <author><name>Buurtwag</name></author>
  <link rel="self" type="application/atom+xml" href="${escapeXml(meta.selfUrl)}"/>
  <link rel="alternate" type="text/html" href="${escapeXml(meta.siteUrl)}"/>
${entries.join('\n')}
</feed>
`;
}
