import { Type, type Static } from 'typebox';
import { IncidentSla, OVERDUE_VALUES } from '../sla/sla.schemas.js';

export const STATUSES = [
  'reported',
  'acknowledged',
  'in_progress',
  'resolved',
  'closed',
  'rejected',
  'duplicate',
] as const;
export const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Status = (typeof STATUSES)[number];
export type Priority = (typeof PRIORITIES)[number];

export const METADATA_MAX_BYTES = 16 * 1024;
export const MAX_RADIUS_M = 50_000;

const Uuid = Type.String({ format: 'uuid' });

export const PointInput = Type.Object(
  {
    type: Type.Literal('Point'),
    coordinates: Type.Tuple([Type.Number({ minimum: -180, maximum: 180 }), Type.Number({ minimum: -90, maximum: 90 })]),
  },
  { additionalProperties: false },
);

export const IncidentCreate = Type.Object(
  {
    title: Type.String({ minLength: 3, maxLength: 255 }),
    description: Type.String({ maxLength: 10_000 }),
    categoryId: Uuid,
    priority: Type.Optional(Type.Union(PRIORITIES.map((p) => Type.Literal(p)))),
    location: PointInput,
    address: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
    isPublic: Type.Optional(Type.Boolean()),
    anonymous: Type.Optional(Type.Boolean()),
    requiresAuthority: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);
export type IncidentCreate = Static<typeof IncidentCreate>;

export const IncidentPatch = Type.Object(
  {
    status: Type.Optional(Type.Union(STATUSES.map((s) => Type.Literal(s)))),
    priority: Type.Optional(Type.Union(PRIORITIES.map((p) => Type.Literal(p)))),
    assigneeId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    categoryId: Type.Optional(Uuid),
    isPublic: Type.Optional(Type.Boolean()),
    // the reporter's own fields, while the report is still `reported`
    title: Type.Optional(Type.String({ minLength: 3, maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    location: Type.Optional(PointInput),
    // optimistic concurrency, like If-Match: the version the change was based on (412 when stale)
    version: Type.Optional(Type.Integer({ minimum: 0 })),
    // a response template for the status move: posted as a public comment in the reporter's language
    templateId: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'response template to post with the status change (templates module)',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type IncidentPatch = Static<typeof IncidentPatch>;

const PersonRef = Type.Union([Type.Object({ id: Type.String(), displayName: Type.String() }), Type.Null()]);

export const Incident = Type.Object({
  id: Type.String({ format: 'uuid' }),
  reference: Type.String({ examples: ['BW-7K3Q9D2M'] }),
  title: Type.String(),
  description: Type.String(),
  category: Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() }),
  priority: Type.String({ enum: [...PRIORITIES] }),
  status: Type.String({ enum: [...STATUSES] }),
  location: Type.Object({
    type: Type.Literal('Point'),
    coordinates: Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }),
  }),
  address: Type.Union([Type.String(), Type.Null()]),
  communityId: Type.Union([Type.String(), Type.Null()]),
  reporter: PersonRef,
  assignee: PersonRef,
  isPublic: Type.Boolean(),
  requiresAuthority: Type.Boolean(),
  /** the authority it was routed to on creation; optional only for responses stored before routing existed */
  authority: Type.Optional(Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()])),
  metadata: Type.Object({}, { additionalProperties: true }),
  /** the incident this one was merged into (status `duplicate`); optional only for responses stored before merging existed */
  duplicateOf: Type.Optional(Type.Union([Type.Object({ id: Type.String(), reference: Type.String() }), Type.Null()])),
  /** true when the exact location is hidden from this viewer (sensitive category) */
  locationBlurred: Type.Boolean(),
  version: Type.Integer(),
  /** how many other people said "me too" */
  confirmations: Type.Integer({ minimum: 0 }),
  /** held by pre-moderation: seen by the reporter and staff only until a moderator approves it */
  pendingApproval: Type.Optional(Type.Boolean()),
  /** staff only: kept from the public (by a moderator, a ban, or pre-moderation) */
  hidden: Type.Optional(Type.Boolean()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  /** staff of its community only: SLA due dates and whether it is late now (sla module) */
  sla: Type.Optional(IncidentSla),
  distance: Type.Optional(Type.Number({ description: 'metres from `near`, in near queries' })),
});
export type Incident = Static<typeof Incident>;

export const IncidentList = Type.Object({
  items: Type.Array(Incident),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const IncidentListQuery = Type.Object(
  {
    near: Type.Optional(Type.String({ description: 'LON,LAT', examples: ['28.0473,-26.2041'] })),
    radius: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_RADIUS_M, description: 'metres around near (default 1000)' }),
    ),
    bbox: Type.Optional(Type.String({ description: 'MINLON,MINLAT,MAXLON,MAXLAT' })),
    status: Type.Optional(Type.String({ description: 'comma-separated statuses' })),
    category: Type.Optional(Type.String({ description: 'comma-separated category slugs' })),
    priority: Type.Optional(Type.String({ description: 'comma-separated priorities' })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'text in the title, or a reference' })),
    communityId: Type.Optional(Uuid),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    reporter: Type.Optional(Type.Literal('me')),
    assignee: Type.Optional(Type.Literal('me')),
    overdue: Type.Optional(
      Type.Union(
        OVERDUE_VALUES.map((v) => Type.Literal(v)),
        { description: 'staff: late by SLA (true: either kind), not late (false), or late to acknowledge / resolve' },
      ),
    ),
    sort: Type.Optional(
      Type.Union([
        Type.Literal('distance'),
        Type.Literal('-createdAt'),
        Type.Literal('createdAt'),
        Type.Literal('-priority'),
      ]),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type IncidentListQuery = Static<typeof IncidentListQuery>;

export const TimelineItem = Type.Object({
  id: Type.String(),
  type: Type.String(),
  actor: PersonRef,
  data: Type.Object({}, { additionalProperties: true }),
  internal: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  /** a comment a moderator hid: its body and the reason show to staff only */
  hidden: Type.Union([
    Type.Object({ at: Type.String({ format: 'date-time' }), reason: Type.Union([Type.String(), Type.Null()]) }),
    Type.Null(),
  ]),
});
export type TimelineItem = Static<typeof TimelineItem>;
export const Timeline = Type.Object({ items: Type.Array(TimelineItem) });

export const IdOrReferenceParams = Type.Object({ idOrReference: Type.String({ maxLength: 64 }) });
