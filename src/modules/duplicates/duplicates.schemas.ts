import { Type, type Static } from 'typebox';
import { Incident } from '../incidents/incidents.schemas.js';

export const SimilarIncident = Type.Object({
  ...Incident.properties,
  /** metres from the incident or point asked about, rounded as the near list rounds it */
  distance: Type.Number(),
  /** how alike the titles are (pg_trgm), 0..1 with 2 decimals; 0 without a title */
  similarity: Type.Number({ minimum: 0, maximum: 1 }),
});
export type SimilarIncident = Static<typeof SimilarIncident>;

export const SimilarList = Type.Object({ items: Type.Array(SimilarIncident) });
export const DuplicateList = Type.Object({ items: Type.Array(Incident) });

export const SimilarQuery = Type.Object(
  {
    near: Type.String({ maxLength: 100, description: 'LON,LAT', examples: ['28.0473,-26.2041'] }),
    categoryId: Type.String({ format: 'uuid' }),
    title: Type.Optional(Type.String({ maxLength: 255 })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type SimilarQuery = Static<typeof SimilarQuery>;

export const MergeBody = Type.Object(
  { into: Type.String({ minLength: 1, maxLength: 64, description: 'the original: its id or reference' }) },
  { additionalProperties: false },
);
export type MergeBody = Static<typeof MergeBody>;
