/**
 * Who may be told about an incident: whoever may see it now (incidents.policy.ts#canView, as
 * SQL over a set of recipients). `user` names the recipient's id column, `i` is the incident.
 * A private or hidden incident is told to its reporter and its community's staff only.
 */
export function recipientMayViewSql(user: string): string {
  return `((i.is_public AND NOT i.hidden) OR ${user} = i.reporter_id
           OR EXISTS (SELECT 1 FROM user_roles ro WHERE ro.user_id = ${user}
                      AND (ro.role = 'admin' OR ro.community_id = i.community_id)))`;
}

/** Notifications are the signed-in person's own: nobody reads or changes another's. */
export function canManageOwnNotifications(actor: { userId: string | null }): actor is { userId: string } {
  return actor.userId !== null;
}
