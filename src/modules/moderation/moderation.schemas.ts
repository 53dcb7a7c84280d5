import { Type, type Static } from 'typebox';
import {
  COMMENT_MAX_CHARS,
  HIDE_REASON_MAX_CHARS,
  HIDE_REASON_MIN_CHARS,
} from '../conversation/conversation.schemas.js';

const Uuid = Type.String({ format: 'uuid' });

const Reason = Type.String({
  minLength: HIDE_REASON_MIN_CHARS,
  maxLength: HIDE_REASON_MAX_CHARS,
  description: 'Why: kept in the moderation history and the audit trail, shown to staff only',
});

export const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export type ReasonBody = Static<typeof ReasonBody>;

/** Undoing (unhide, unban, approve) may say why; no body at all is fine too. */
export const OptionalReasonBody = Type.Union([
  Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false }),
  Type.Null(),
]);

export const REDACTABLE_FIELDS = ['title', 'description'] as const;
export type RedactableField = (typeof REDACTABLE_FIELDS)[number];

export const IncidentRedaction = Type.Object(
  {
    field: Type.Union(REDACTABLE_FIELDS.map((f) => Type.Literal(f))),
    text: Type.String({
      maxLength: 10_000,
      description:
        'The words that replace the old ones (a title needs 3 to 255 characters). The old ones are not kept.',
    }),
    reason: Reason,
  },
  { additionalProperties: false },
);
export type IncidentRedaction = Static<typeof IncidentRedaction>;

export const CommentRedaction = Type.Object(
  {
    text: Type.String({
      minLength: 1,
      maxLength: COMMENT_MAX_CHARS,
      description: 'Replaces the body; the old one is not kept',
    }),
    reason: Reason,
  },
  { additionalProperties: false },
);
export type CommentRedaction = Static<typeof CommentRedaction>;

export const MODERATION_ACTIONS = [
  'incident.hide',
  'incident.unhide',
  'incident.redact',
  'incident.approve',
  'incident.reject',
  'incident.merge',
  'comment.hide',
  'comment.unhide',
  'comment.redact',
  'media.hide',
  'media.unhide',
  'user.ban',
  'user.unban',
  'banlist.add',
  'banlist.remove',
] as const;

export const HistoryQuery = Type.Object(
  {
    communityId: Type.Optional(Uuid),
    incidentId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'id or reference' })),
    action: Type.Optional(Type.Union(MODERATION_ACTIONS.map((a) => Type.Literal(a)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

const PersonRef = Type.Union([Type.Object({ id: Type.String(), displayName: Type.String() }), Type.Null()]);

export const ModerationAction = Type.Object({
  id: Type.String({ description: 'increasing with time' }),
  action: Type.String({ examples: ['incident.hide'] }),
  actor: PersonRef,
  target: Type.Object({
    type: Type.Union([
      Type.Literal('incident'),
      Type.Literal('comment'),
      Type.Literal('media'),
      Type.Literal('user'),
      Type.Literal('ban_list'),
    ]),
    /** incident and user: a uuid; comment: its timeline event id; media: a uuid; ban_list: domain:<domain> or email-sha256:<hex> (an address is never stored in the history) */
    id: Type.String(),
  }),
  /** the incident acted on or through (null for bans, or once the incident was deleted) */
  incident: Type.Union([Type.Object({ id: Type.String(), reference: Type.String() }), Type.Null()]),
  communityId: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
export type ModerationAction = Static<typeof ModerationAction>;

export const ModerationHistory = Type.Object({
  items: Type.Array(ModerationAction),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type ModerationHistory = Static<typeof ModerationHistory>;

export const PendingQuery = Type.Object(
  {
    communityId: Type.Optional(Uuid),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type PendingQuery = Static<typeof PendingQuery>;

// ---------------------------------------------------------------------------------------------
// Bans

export const UserParams = Type.Object({ id: Uuid });

export const BanResult = Type.Object({
  userId: Type.String(),
  banned: Type.Boolean(),
  /** reports of the account that the ban hid just now */
  hiddenReports: Type.Integer({ minimum: 0 }),
});
export type BanResult = Static<typeof BanResult>;

export const BanEntry = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('email'), Type.Literal('domain')]),
  value: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
export type BanEntry = Static<typeof BanEntry>;

export const BanEntryCreated = Type.Object({
  ...BanEntry.properties,
  /** reports by matching accounts that adding the entry hid just now */
  hiddenReports: Type.Integer({ minimum: 0 }),
});
export type BanEntryCreated = Static<typeof BanEntryCreated>;

export const BanEntryCreate = Type.Object(
  {
    kind: Type.Union([Type.Literal('email'), Type.Literal('domain')]),
    value: Type.String({ minLength: 3, maxLength: 254, description: 'an email address, or a domain (example.org)' }),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type BanEntryCreate = Static<typeof BanEntryCreate>;

export const BanList = Type.Object({
  items: Type.Array(BanEntry),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const BanListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type BanListQuery = Static<typeof BanListQuery>;

export const BanEntryParams = Type.Object({ id: Uuid });
