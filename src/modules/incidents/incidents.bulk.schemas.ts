import { Type, type Static } from 'typebox';
import { Incident, PRIORITIES, STATUSES } from './incidents.schemas.js';

export const BULK_MAX_ITEMS = 500;

export const BulkAction = Type.Object(
  {
    status: Type.Optional(Type.Union(STATUSES.map((s) => Type.Literal(s)))),
    priority: Type.Optional(Type.Union(PRIORITIES.map((p) => Type.Literal(p)))),
    assigneeId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    hidden: Type.Optional(
      Type.Boolean({ description: 'moderation: keep from the public (staff and the reporter still see it)' }),
    ),
    templateId: Type.Optional(
      Type.String({
        format: 'uuid',
        description: "with status: a response template posted on each incident moved, in its reporter's language",
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type BulkAction = Static<typeof BulkAction>;

export const BulkRequest = Type.Object(
  {
    ids: Type.Array(Type.String({ minLength: 1, maxLength: 64, description: 'an id or a reference (BW-…)' }), {
      minItems: 1,
      maxItems: BULK_MAX_ITEMS,
      uniqueItems: true,
    }),
    action: BulkAction,
  },
  { additionalProperties: false },
);
export type BulkRequest = Static<typeof BulkRequest>;

/** One item: `ok` with the incident as it is now, or the status and message a single PATCH would have had. */
export const BulkItemResult = Type.Object({
  id: Type.String({ description: 'as given in ids' }),
  ok: Type.Boolean(),
  incident: Type.Optional(Incident),
  status: Type.Optional(Type.Integer({ description: '400, 403, 404 or 409 when not ok' })),
  error: Type.Optional(Type.String({ description: 'why not, in the language of the request' })),
});
export type BulkItemResult = Static<typeof BulkItemResult>;

export const BulkResult = Type.Object({
  results: Type.Array(BulkItemResult),
  applied: Type.Integer({ minimum: 0, description: 'how many items succeeded' }),
});
export type BulkResult = Static<typeof BulkResult>;
