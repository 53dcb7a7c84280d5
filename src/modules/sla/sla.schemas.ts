import { Type, type Static } from 'typebox';

/** The kinds of target: reacting to a report (leaving `reported`) and finishing it. */
export const SLA_KINDS = ['acknowledge', 'resolve'] as const;
export type SlaKind = (typeof SLA_KINDS)[number];

/** `overdue=` on GET /incidents: late in either way, neither, or one kind. */
export const OVERDUE_VALUES = ['true', 'false', 'acknowledge', 'resolve'] as const;
export type OverdueValue = (typeof OVERDUE_VALUES)[number];

/** A year: longer targets are not targets. */
export const MAX_TARGET_MINUTES = 525_600;
// One `type` list rather than a union with null: the app's Ajv coerces types, and in a union it
// would turn 0 into null (remove the target) instead of refusing it.
const Minutes = Type.Unsafe<number | null>({
  type: ['integer', 'null'],
  minimum: 1,
  maximum: MAX_TARGET_MINUTES,
  description: 'minutes; null removes the target',
});

export const SlaTarget = Type.Object({
  categoryId: Type.String({ format: 'uuid' }),
  categorySlug: Type.String(),
  acknowledgeMinutes: Type.Union([Type.Integer(), Type.Null()]),
  resolveMinutes: Type.Union([Type.Integer(), Type.Null()]),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type SlaTarget = Static<typeof SlaTarget>;

export const SlaTargetList = Type.Object({ items: Type.Array(SlaTarget) });

export const SlaTargetPut = Type.Object(
  {
    acknowledgeMinutes: Type.Optional(Minutes),
    resolveMinutes: Type.Optional(Minutes),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SlaTargetPut = Static<typeof SlaTargetPut>;

/** On a category, for staff (GET /categories/:id). */
export const CategorySla = Type.Object({
  acknowledgeMinutes: Type.Union([Type.Integer(), Type.Null()]),
  resolveMinutes: Type.Union([Type.Integer(), Type.Null()]),
});
export type CategorySla = Static<typeof CategorySla>;

/** A target change answers with the target and how many open incidents got new due dates. */
export const SlaTargetChanged = Type.Object({
  ...SlaTarget.properties,
  recomputed: Type.Integer({ minimum: 0, description: 'open incidents of the category whose due dates changed' }),
});

/** On an incident, for staff of its community: when it is due, and whether it is late now. */
export const IncidentSla = Type.Object({
  acknowledgeDueAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  resolveDueAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  overdue: Type.Object({ acknowledge: Type.Boolean(), resolve: Type.Boolean() }),
});
export type IncidentSla = Static<typeof IncidentSla>;
