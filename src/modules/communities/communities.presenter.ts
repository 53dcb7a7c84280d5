import type { CommunityRow } from './communities.repository.js';
import type { Community } from './communities.schemas.js';

export function presentCommunity(row: CommunityRow): Community {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    parentId: row.parent_id,
    anonymousReporting: row.anonymous_reporting,
    premoderation: row.premoderation,
    boundary: JSON.parse(row.boundary) as Community['boundary'],
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
