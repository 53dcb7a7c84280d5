import { Type, type Static } from 'typebox';

const Password = Type.String({ minLength: 1, maxLength: 256, description: 'the current password, typed again' });

export const ExportRequest = Type.Object({ password: Password }, { additionalProperties: false });

export const ExportLink = Type.Object(
  {
    url: Type.String({
      description: 'GET it (a plain browser download: no Authorization header needed) within 15 minutes; it works once',
    }),
    expiresAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'ExportLink' },
);
export type ExportLink = Static<typeof ExportLink>;

export const ExportQuery = Type.Object(
  { code: Type.String({ minLength: 20, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);

export const ErasureRequest = Type.Object(
  {
    password: Password,
    deletePhotos: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'also delete the photos, videos and documents the person added to reports that stay public',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ErasureSummary = Type.Object({
  reportsKept: Type.Integer({ description: 'public reports kept, now anonymous with a coarsened location' }),
  reportsDeleted: Type.Integer({ description: 'private reports deleted' }),
  commentsDeidentified: Type.Integer(),
  photosDeleted: Type.Integer(),
});

export const Consent = Type.Object({
  kind: Type.Literal('terms'),
  version: Type.String(),
  explicit: Type.Boolean({
    description: 'false: recorded at a registration that did not send acceptTerms (clients older than consent)',
  }),
  acceptedAt: Type.String({ format: 'date-time' }),
});
export type Consent = Static<typeof Consent>;

export const ConsentList = Type.Object({
  current: Type.Union([Type.String(), Type.Null()], { description: 'the last version accepted' }),
  required: Type.String({ description: 'the version in force (TERMS_VERSION)' }),
  items: Type.Array(Consent),
});

export const ConsentAccept = Type.Object(
  { termsVersion: Type.String({ minLength: 1, maxLength: 50 }) },
  { additionalProperties: false },
);
