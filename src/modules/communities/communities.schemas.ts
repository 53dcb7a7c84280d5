import { Type, type Static } from 'typebox';

const Position = Type.Array(Type.Number(), { minItems: 2, maxItems: 3 });
const Ring = Type.Array(Position, { minItems: 4, maxItems: 100_000 });

export const Boundary = Type.Union([
  Type.Object(
    { type: Type.Literal('Polygon'), coordinates: Type.Array(Ring, { minItems: 1, maxItems: 1000 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('MultiPolygon'),
      coordinates: Type.Array(Type.Array(Ring, { minItems: 1, maxItems: 1000 }), { minItems: 1, maxItems: 1000 }),
    },
    { additionalProperties: false },
  ),
]);
export type Boundary = Static<typeof Boundary>;

export const Community = Type.Object({
  id: Type.String({ format: 'uuid' }),
  slug: Type.String(),
  name: Type.String(),
  parentId: Type.Union([Type.String(), Type.Null()]),
  /** residents may report here without signing in (anonymously, with stricter limits) */
  anonymousReporting: Type.Boolean(),
  /** new reports stay hidden, pending, until a moderator approves them */
  premoderation: Type.Boolean(),
  boundary: Type.Object({ type: Type.String(), coordinates: Type.Array(Type.Any()) }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Community = Static<typeof Community>;

export const CommunityList = Type.Object({ items: Type.Array(Community) });

const Slug = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });

export const CommunityCreate = Type.Object(
  {
    slug: Slug,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    parentId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    anonymousReporting: Type.Optional(Type.Boolean()),
    premoderation: Type.Optional(Type.Boolean()),
    boundary: Boundary,
  },
  { additionalProperties: false },
);
export type CommunityCreate = Static<typeof CommunityCreate>;

export const CommunityPatch = Type.Object(
  {
    slug: Type.Optional(Slug),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    parentId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    anonymousReporting: Type.Optional(Type.Boolean()),
    premoderation: Type.Optional(Type.Boolean()),
    boundary: Type.Optional(Boundary),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type CommunityPatch = Static<typeof CommunityPatch>;

/** Someone who works a community's incidents: who the console can assign an incident to. */
export const CommunityStaffMember = Type.Object({
  id: Type.String({ format: 'uuid' }),
  displayName: Type.String(),
  roles: Type.Array(Type.Union([Type.Literal('moderator'), Type.Literal('responder')]), { minItems: 1 }),
});
export const CommunityStaffList = Type.Object({ items: Type.Array(CommunityStaffMember) });
