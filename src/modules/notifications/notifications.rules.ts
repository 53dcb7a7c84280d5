import { excerpt, type MessageFacts } from './notifications.templates.js';

/**
 * Who gets what. Each rule is a recipient resolver: for the timeline event types it answers, a
 * SQL query of the people concerned (`e` is the event, `i` its incident, `$1` the event id). The
 * fan-out unions the rules, drops the actor and whoever may not see the incident, and applies each
 * person's preferences. Area alerts and escalation later become more rules of the same shape.
 */
export const NOTIFICATION_KINDS = ['status_changed', 'commented', 'new_report', 'assigned'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface RecipientRule {
  name: string;
  /** timeline event types this rule answers */
  eventTypes: readonly string[];
  /** SELECT user_id FROM … ; may use e (incident_events), i (incidents) */
  recipients: string;
}

export const RULES: readonly RecipientRule[] = [
  {
    name: 'followers',
    eventTypes: ['status_changed', 'comment'],
    recipients: 'SELECT f.user_id FROM incident_follows f WHERE f.incident_id = i.id',
  },
  {
    // the reporter hears about their report even after unfollowing, unless they said no
    name: 'reporter',
    eventTypes: ['status_changed', 'comment'],
    recipients: `SELECT i.reporter_id AS user_id WHERE i.reporter_id IS NOT NULL
                   AND coalesce((SELECT (p.settings->>'reporterUpdates')::boolean
                                 FROM notification_preferences p WHERE p.user_id = i.reporter_id), true)`,
  },
  {
    name: 'staff',
    eventTypes: ['created'],
    recipients: `SELECT DISTINCT r.user_id FROM user_roles r
                 WHERE r.community_id = i.community_id AND r.role IN ('moderator', 'responder')`,
  },
  {
    name: 'assignee',
    eventTypes: ['assigned'],
    recipients: `SELECT u.id AS user_id FROM users u WHERE u.id::text = e.data->>'to'`,
  },
];

const KIND_OF: Record<string, NotificationKind> = {
  status_changed: 'status_changed',
  comment: 'commented',
  created: 'new_report',
  assigned: 'assigned',
};

/** The kind of notification an event makes; null: nobody is told (internal notes among them). */
export function kindOf(event: {
  type: string;
  internal: boolean;
  hidden_at?: Date | string | null;
}): NotificationKind | null {
  if (event.internal || event.hidden_at) return null;
  return KIND_OF[event.type] ?? null;
}

export function rulesFor(eventType: string): RecipientRule[] {
  return RULES.filter((r) => r.eventTypes.includes(eventType));
}

/** What a message about this event says (stored with the in-app notification, used in mails). */
export function factsOf(
  kind: NotificationKind,
  event: { data: Record<string, unknown> },
  incident: { reference: string; title: string },
): MessageFacts {
  const facts: MessageFacts = { kind, reference: incident.reference, title: incident.title };
  if (kind === 'status_changed') {
    facts.from = String(event.data.from ?? '');
    facts.to = String(event.data.to ?? '');
  }
  if (kind === 'commented' && typeof event.data.body === 'string') facts.excerpt = excerpt(event.data.body);
  return facts;
}
