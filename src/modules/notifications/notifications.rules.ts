import { AREA_ALERT_RECIPIENTS_SQL } from '../alerts/alerts.matching.js';
import { blurredPoint } from '../incidents/incidents.presenter.js';
import { excerpt, type MessageFacts } from './notifications.templates.js';

/**
 * Who gets what. Each rule is a recipient resolver: for the timeline event types it answers, a
 * SQL query of the people concerned (`e` is the event, `i` its incident, `$1` the event id). The
 * fan-out unions the rules, drops the actor and whoever may not see the incident, and applies each
 * person's preferences. Area alerts and escalation later become more rules of the same shape.
 */
export const NOTIFICATION_KINDS = [
  'status_changed',
  'commented',
  'new_report',
  'assigned',
  'escalated',
  'emergency',
  'area_alert',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
/**
 * Emergency alerts go out on every channel the person has, whatever their preferences say, and
 * never wait in a digest: being on a community's staff roster is the consent.
 */
export const URGENT_KINDS: readonly NotificationKind[] = ['emergency'];
/** The kinds a person can switch per channel (the urgent ones cannot be switched off). */
export const PREFERENCE_KINDS = [
  'status_changed',
  'commented',
  'new_report',
  'assigned',
  'escalated',
  'area_alert',
] as const;
export type PreferenceKind = (typeof PREFERENCE_KINDS)[number];
export const isUrgent = (kind: NotificationKind): boolean => URGENT_KINDS.includes(kind);

export interface RecipientRule {
  name: string;
  /** timeline event types this rule answers */
  eventTypes: readonly string[];
  /** SELECT user_id FROM … ; may use e (incident_events), i (incidents) */
  recipients: string;
  /** the kind this rule's people are told, when not the event's own (a staff member who is also
   *  named by such a rule hears once, as the event's kind) */
  kind?: NotificationKind;
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
  {
    // a late incident: its assignee, or while nobody has it, the community's moderators
    name: 'sla-escalation',
    eventTypes: ['sla.escalated'],
    recipients: `SELECT i.assignee_id AS user_id WHERE i.assignee_id IS NOT NULL
                 UNION SELECT r.user_id FROM user_roles r
                 WHERE i.assignee_id IS NULL AND r.community_id = i.community_id AND r.role = 'moderator'`,
  },
  {
    // whoever this level of an emergency alert chose (emergency.service.ts wrote them down)
    name: 'emergency',
    eventTypes: ['emergency.alerted'],
    recipients: `SELECT x.user_id FROM emergency_alert_recipients x
                 WHERE x.incident_id = i.id AND x.level = (e.data->>'level')::int`,
  },
  {
    // people who asked to hear about new public reports in an area (modules/alerts)
    name: 'area-alerts',
    eventTypes: ['created', 'approved'],
    recipients: AREA_ALERT_RECIPIENTS_SQL,
    kind: 'area_alert',
  },
];

const KIND_OF: Record<string, NotificationKind> = {
  status_changed: 'status_changed',
  comment: 'commented',
  created: 'new_report',
  assigned: 'assigned',
  'sla.escalated': 'escalated',
  'emergency.alerted': 'emergency',
  // a held report made public: only area alerts answer it
  approved: 'area_alert',
};
/** internal events that are told all the same: only to staff, whom the rules name */
const STAFF_EVENTS = new Set(['sla.escalated', 'emergency.alerted']);

/** The kind of notification an event makes; null: nobody is told (internal notes among them). */
export function kindOf(event: {
  type: string;
  internal: boolean;
  hidden_at?: Date | string | null;
}): NotificationKind | null {
  if (event.hidden_at || (event.internal && !STAFF_EVENTS.has(event.type))) return null;
  return KIND_OF[event.type] ?? null;
}

export function rulesFor(eventType: string): RecipientRule[] {
  return RULES.filter((r) => r.eventTypes.includes(eventType));
}

/** What a message about this event says (stored with the in-app notification, used in mails). */
export function factsOf(
  kind: NotificationKind,
  event: { data: Record<string, unknown> },
  incident: { reference: string; title: string; lon?: number; lat?: number; sensitive?: boolean },
): MessageFacts {
  const facts: MessageFacts = { kind, reference: incident.reference, title: incident.title };
  if (kind === 'status_changed') {
    facts.from = String(event.data.from ?? '');
    facts.to = String(event.data.to ?? '');
  }
  if (kind === 'commented' && typeof event.data.body === 'string') facts.excerpt = excerpt(event.data.body);
  if (kind === 'escalated') facts.slaKind = String(event.data.kind ?? '');
  if (kind === 'emergency') facts.level = Number(event.data.level ?? 1);
  if (kind === 'area_alert' && incident.lon !== undefined && incident.lat !== undefined) {
    // a subscriber is the public: a sensitive report's place is only its ~250 m cell
    facts.location = incident.sensitive ? blurredPoint(incident.lon, incident.lat) : [incident.lon, incident.lat];
    facts.approximate = incident.sensitive === true;
  }
  return facts;
}
