import { Type, type Static } from 'typebox';
import { Boundary } from '../communities/communities.schemas.js';

const Uuid = Type.String({ format: 'uuid' });
const Url = Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000 });
const Slug = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });

/**
 * How incidents reach the authority, as an admin writes it. `apiKey` (their Open311 key for us) is
 * write-only: no response ever carries it; a change that leaves it out keeps the stored one.
 */
export const DeliveryWrite = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('open311'),
      endpoint: Url,
      apiKey: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
      jurisdictionId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
    },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('webhook'), url: Url }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('none') }, { additionalProperties: false }),
]);
export type DeliveryWrite = Static<typeof DeliveryWrite>;

/** The delivery as responses show it: the secret only as "one is set". */
export const Delivery = Type.Object({
  kind: Type.String({ enum: ['open311', 'webhook', 'none'] }),
  endpoint: Type.Optional(Type.String()),
  jurisdictionId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  apiKeySet: Type.Optional(Type.Boolean()),
  url: Type.Optional(Type.String()),
});
export type Delivery = Static<typeof Delivery>;

export const Authority = Type.Object({
  id: Uuid,
  slug: Type.String(),
  name: Type.String(),
  jurisdiction: Type.Object({ type: Type.String(), coordinates: Type.Array(Type.Any()) }),
  /** square metres; where jurisdictions nest the smallest one gets the incident */
  areaM2: Type.Number(),
  /** the categories it handles; empty: every category */
  categoryIds: Type.Array(Type.String()),
  delivery: Delivery,
  enabled: Type.Boolean(),
  /** why it was switched off (by an admin, or automatically when their endpoint said 410 Gone) */
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Authority = Static<typeof Authority>;
export const AuthorityList = Type.Object({ items: Type.Array(Authority) });

export const AuthorityCreate = Type.Object(
  {
    slug: Slug,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    jurisdiction: Boundary,
    categoryIds: Type.Optional(Type.Array(Uuid, { maxItems: 200, uniqueItems: true })),
    delivery: Type.Optional(DeliveryWrite),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type AuthorityCreate = Static<typeof AuthorityCreate>;

export const AuthorityPatch = Type.Object(
  {
    slug: Type.Optional(Slug),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    jurisdiction: Type.Optional(Boundary),
    categoryIds: Type.Optional(Type.Array(Uuid, { maxItems: 200, uniqueItems: true })),
    delivery: Type.Optional(DeliveryWrite),
    /** true clears the reason it was disabled */
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AuthorityPatch = Static<typeof AuthorityPatch>;

/** A forwarding job that failed for good. */
export const DeadForward = Type.Object({
  jobId: Type.String(),
  incident: Type.Union([Type.Object({ id: Type.String(), reference: Type.String() }), Type.Null()]),
  authority: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  deadAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
export type DeadForward = Static<typeof DeadForward>;
export const DeadForwardList = Type.Object({
  items: Type.Array(DeadForward),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export const DeadForwardQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type DeadForwardQuery = Static<typeof DeadForwardQuery>;
