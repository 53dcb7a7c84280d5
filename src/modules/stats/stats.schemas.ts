import { Type, type Static } from 'typebox';

const Uuid = Type.String({ format: 'uuid' });

export const StatsQuery = Type.Object(
  {
    communityId: Type.Optional(Uuid),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'created at or after' })),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'created before' })),
    category: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated category slugs' })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type StatsQuery = Static<typeof StatsQuery>;

const Durations = Type.Object({
  /** how many incidents the figures are over */
  count: Type.Integer({ minimum: 0 }),
  medianSeconds: Type.Union([Type.Number(), Type.Null()]),
  p90Seconds: Type.Union([Type.Number(), Type.Null()]),
  /** false: estimated from a histogram (buckets of a factor √2, interpolated), for large sets */
  exact: Type.Boolean(),
});
export type Durations = Static<typeof Durations>;

const CategoryCount = Type.Object({
  categoryId: Type.String(),
  slug: Type.String(),
  name: Type.String(),
  count: Type.Integer({ minimum: 0 }),
});

export const Stats = Type.Object({
  total: Type.Integer({ minimum: 0 }),
  byStatus: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  byCategory: Type.Array(CategoryCount),
  byCommunity: Type.Array(
    Type.Object({
      communityId: Type.Union([Type.String(), Type.Null()]),
      name: Type.Union([Type.String(), Type.Null()]),
      count: Type.Integer({ minimum: 0 }),
    }),
  ),
  byWeek: Type.Array(
    Type.Object({
      /** ISO 8601 week, e.g. 2026-W05 */
      week: Type.String(),
      /** its Monday (UTC) */
      start: Type.String({ format: 'date' }),
      count: Type.Integer({ minimum: 0 }),
    }),
  ),
  timeToAcknowledge: Durations,
  timeToResolve: Durations,
  /** open incidents past their SLA due date now (SLA targets per category) */
  overdue: Type.Object({ acknowledge: Type.Integer({ minimum: 0 }), resolve: Type.Integer({ minimum: 0 }) }),
});
export type Stats = Static<typeof Stats>;

export const HeatmapQuery = Type.Object(
  {
    bbox: Type.String({ maxLength: 200, description: 'MINLON,MINLAT,MAXLON,MAXLAT' }),
    cells: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 200, default: 32, description: 'columns and rows of the grid' }),
    ),
  },
  { additionalProperties: false },
);
export type HeatmapQuery = Static<typeof HeatmapQuery>;

export const Heatmap = Type.Object({
  bbox: Type.Array(Type.Number(), { minItems: 4, maxItems: 4 }),
  cells: Type.Integer(),
  /** degrees of longitude and latitude per grid cell */
  cellWidth: Type.Number(),
  cellHeight: Type.Number(),
  /** non-empty cells only; col 0 is the west edge, row 0 the south edge */
  items: Type.Array(Type.Object({ col: Type.Integer(), row: Type.Integer(), count: Type.Integer({ minimum: 1 }) })),
});
export type Heatmap = Static<typeof Heatmap>;

export const CommunityParams = Type.Object({ id: Uuid });

export const CommunitySummary = Type.Object({
  communityId: Type.String(),
  name: Type.String(),
  /** public reports, this community and those inside it */
  reported: Type.Integer({ minimum: 0 }),
  /** of which resolved or closed */
  resolved: Type.Integer({ minimum: 0 }),
  medianSecondsToResolve: Type.Union([Type.Number(), Type.Null()]),
  byCategory: Type.Array(CategoryCount),
});
export type CommunitySummary = Static<typeof CommunitySummary>;
