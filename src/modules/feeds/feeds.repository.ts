import type { Queryable } from '../../platform/db/database.js';
import { PUBLIC_POINT_SQL, PUBLISHED_SQL } from '../alerts/alerts.matching.js';
import { FEED_SIZE } from './feeds.schemas.js';

export interface FeedRow {
  id: string;
  reference: string;
  title: string;
  description: string;
  status: string;
  category_slug: string;
  category_name: Record<string, string>;
  sensitive: boolean;
  /** the public point: a sensitive report's blur cell centre, never its exact place */
  lon: number;
  lat: number;
  /** null for a sensitive report */
  address: string | null;
  created_at: Date;
  updated_at: Date;
}

export type FeedFilter =
  | { kind: 'all' }
  | { kind: 'community'; communityId: string }
  | { kind: 'category'; slug: string }
  | { kind: 'near'; lon: number; lat: number; radius: number }
  | { kind: 'bbox'; box: [number, number, number, number] };

/**
 * The newest public reports (not private, hidden or held for approval) of one feed. Only the
 * columns a feed shows are read: no reporter, ever. Places are the public ones (blurred for
 * sensitive categories) and area filters test those, not the exact point.
 */
export async function feedIncidents(db: Queryable, filter: FeedFilter): Promise<FeedRow[]> {
  const values: unknown[] = [];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const where = [PUBLISHED_SQL];
  if (filter.kind === 'community') {
    // a community's feed holds its sub-communities' reports too
    where.push(`i.community_id IN (WITH RECURSIVE tree AS (
                  SELECT id FROM communities WHERE id = ${param(filter.communityId)}::uuid
                  UNION SELECT c.id FROM communities c JOIN tree t ON c.parent_id = t.id)
                SELECT id FROM tree)`);
  }
  if (filter.kind === 'category') where.push(`c.slug = ${param(filter.slug)}`);
  if (filter.kind === 'near') {
    const point = `ST_SetSRID(ST_MakePoint(${param(filter.lon)}::float8, ${param(filter.lat)}::float8), 4326)`;
    const radius = param(filter.radius);
    // the index box: the radius in degrees of latitude and (wider) longitude, plus a blur cell
    where.push(
      `i.location && ST_Expand(${point}, (${radius}::float8 / 110574 + 0.0025) / greatest(cos(radians(ST_Y(${point}))), 0.01))`,
      `ST_DWithin(${PUBLIC_POINT_SQL}::geography, ${point}::geography, ${radius}::float8)`,
    );
  }
  if (filter.kind === 'bbox') {
    const box = `ST_MakeEnvelope(${filter.box.map((n) => `${param(n)}::float8`).join(', ')}, 4326)`;
    where.push(`i.location && ST_Expand(${box}, 0.0025)`, `${PUBLIC_POINT_SQL} && ${box}`);
  }
  const { rows } = await db.query<FeedRow>({
    text: `SELECT i.id, i.reference, i.title, i.description, i.status::text AS status, c.slug AS category_slug,
                  c.name AS category_name, c.sensitive, ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat,
                  CASE WHEN c.sensitive THEN NULL ELSE i.address END AS address, i.created_at, i.updated_at
           FROM incidents i JOIN categories c ON c.id = i.category_id
           CROSS JOIN LATERAL (SELECT ${PUBLIC_POINT_SQL} AS pt) p
           WHERE ${where.join(' AND ')}
           ORDER BY i.created_at DESC, i.id DESC LIMIT ${FEED_SIZE}`,
    values,
  });
  return rows;
}

export async function communityName(db: Queryable, id: string): Promise<string | null> {
  const { rows } = await db.query<{ name: string }>({
    text: 'SELECT name FROM communities WHERE id = $1',
    values: [id],
  });
  return rows[0]?.name ?? null;
}

export async function categoryName(db: Queryable, slug: string): Promise<Record<string, string> | null> {
  const { rows } = await db.query<{ name: Record<string, string> }>({
    text: 'SELECT name FROM categories WHERE slug = $1',
    values: [slug],
  });
  return rows[0]?.name ?? null;
}
