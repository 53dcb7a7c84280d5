import { Type, type Static } from 'typebox';
import { STATUSES } from '../incidents/incidents.schemas.js';

export const MIN_ZOOM = 0;
export const MAX_ZOOM = 22;

export const ClustersQuery = Type.Object(
  {
    bbox: Type.String({ description: 'MINLON,MINLAT,MAXLON,MAXLAT', examples: ['27.7,-26.4,28.4,-25.9'] }),
    zoom: Type.Integer({ minimum: MIN_ZOOM, maximum: MAX_ZOOM, description: 'the map’s zoom (web Mercator)' }),
    status: Type.Optional(Type.String({ description: 'comma-separated statuses' })),
    category: Type.Optional(Type.String({ description: 'comma-separated category slugs' })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type ClustersQuery = Static<typeof ClustersQuery>;

const StatusCounts = Type.Object(
  Object.fromEntries(STATUSES.map((s) => [s, Type.Optional(Type.Integer({ minimum: 1 }))])),
  { description: 'how many of the cluster’s incidents are in each status (statuses with none are left out)' },
);

export const Cluster = Type.Object({
  /** [lon, lat]: the mean of the incidents’ (for sensitive categories: blurred) locations */
  coordinates: Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }),
  count: Type.Integer({ minimum: 1 }),
  statuses: StatusCounts,
  /** the one incident of a cluster of one (given when the answer is read from the incidents, see `source`) */
  incident: Type.Optional(
    Type.Object({ id: Type.String({ format: 'uuid' }), reference: Type.String(), status: Type.String() }),
  ),
  /** the grid cell: [west, south, east, north]; zooming to it splits the cluster */
  bounds: Type.Array(Type.Number(), { minItems: 4, maxItems: 4 }),
});
export type Cluster = Static<typeof Cluster>;

export const ClusterList = Type.Object({
  zoom: Type.Integer(),
  /** the grid's cell size in degrees (a power of two times the ~250 m blur cell) */
  cellSize: Type.Number(),
  /** rollup: pre-aggregated cells (low zoom, no dates); incidents: aggregated from the incidents */
  source: Type.Union([Type.Literal('rollup'), Type.Literal('incidents')]),
  total: Type.Integer({ minimum: 0 }),
  items: Type.Array(Cluster),
});
export type ClusterList = Static<typeof ClusterList>;
