import { Type, type Static } from 'typebox';
import { PointInput } from '../incidents/incidents.schemas.js';

/** How small and how large a circle may be: a street at least, a town at most. */
export const MIN_RADIUS_M = 50;
export const MAX_RADIUS_M = 20_000;
/** Alerts one person may have: enough for home, work and family, not a scraper's grid. */
export const MAX_ALERTS_PER_USER = 10;
export const FREQUENCIES = ['immediate', 'daily'] as const;
export type Frequency = (typeof FREQUENCIES)[number];

export const AreaAlert = Type.Object({
  id: Type.String({ format: 'uuid' }),
  /** set for a community alert, null for a circle */
  communityId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  center: Type.Union([
    Type.Object({
      type: Type.Literal('Point'),
      coordinates: Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }),
    }),
    Type.Null(),
  ]),
  /** metres, for a circle */
  radius: Type.Union([Type.Integer(), Type.Null()]),
  /** category slugs; null: every category */
  categories: Type.Union([Type.Array(Type.String()), Type.Null()]),
  frequency: Type.String({ enum: [...FREQUENCIES] }),
  createdAt: Type.String({ format: 'date-time' }),
});
export type AreaAlert = Static<typeof AreaAlert>;

export const AreaAlertList = Type.Object({ items: Type.Array(AreaAlert) });

export const AreaAlertCreate = Type.Object(
  {
    communityId: Type.Optional(Type.String({ format: 'uuid', description: 'a community; or give center and radius' })),
    center: Type.Optional(PointInput),
    radius: Type.Optional(Type.Integer({ description: `metres, ${MIN_RADIUS_M}..${MAX_RADIUS_M}` })),
    categories: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        minItems: 1,
        maxItems: 50,
        description: 'category slugs; leave out for every category',
      }),
    ),
    frequency: Type.Optional(Type.String({ enum: [...FREQUENCIES], default: 'immediate' })),
  },
  { additionalProperties: false },
);
export type AreaAlertCreate = Static<typeof AreaAlertCreate>;

export const AlertIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const AlertUnsubscribeParams = Type.Object({ token: Type.String({ minLength: 10, maxLength: 100 }) });
export const AlertUnsubscribeResult = Type.Object({
  unsubscribed: Type.Literal(true),
  /** false when the alert was already gone */
  removed: Type.Boolean(),
});
