import type { Static } from 'typebox';
import type { CommunityRow, CommunityStaffRow } from './communities.repository.js';
import type { Community, CommunityStaffMember } from './communities.schemas.js';

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

/** Name and roles only: the console needs no email or phone to assign. */
export function presentCommunityStaff(row: CommunityStaffRow): Static<typeof CommunityStaffMember> {
  return { id: row.id, displayName: row.display_name, roles: row.roles };
}
