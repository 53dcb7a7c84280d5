import { Type, type Static } from 'typebox';
import { IncidentListQuery } from '../incidents/incidents.schemas.js';

const { cursor: _cursor, limit: _limit, sort: _sort, ...filters } = IncidentListQuery.properties;

/** The filters of GET /incidents (no paging: an export is the whole set), and the format. */
export const ExportQuery = Type.Object(
  {
    ...filters,
    format: Type.Union([Type.Literal('csv'), Type.Literal('geojson')], { default: 'csv' }),
  },
  { additionalProperties: false },
);
export type ExportQuery = Static<typeof ExportQuery>;

export const EXPORT_FORMATS = ['csv', 'geojson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
