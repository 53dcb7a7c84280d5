import type { BanListRow, ModerationActionRow } from './moderation.repository.js';
import type { BanEntry, ModerationAction } from './moderation.schemas.js';

/** A row of the moderation history as its readers (moderators, admins) see it. */
export function presentModerationAction(row: ModerationActionRow): ModerationAction {
  return {
    id: row.id,
    action: row.action,
    actor: row.actor_id ? { id: row.actor_id, displayName: row.actor_name ?? '' } : null,
    target: { type: row.target_type, id: row.target_id },
    incident:
      row.incident_id && row.incident_reference ? { id: row.incident_id, reference: row.incident_reference } : null,
    communityId: row.community_id,
    reason: row.reason,
    createdAt: row.created_at.toISOString(),
  };
}

export function presentBanEntry(row: BanListRow): BanEntry {
  return { id: row.id, kind: row.kind, value: row.value, reason: row.reason, createdAt: row.created_at };
}
