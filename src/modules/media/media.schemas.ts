import { Type, type Static } from 'typebox';

export const MediaItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  incidentId: Type.String({ format: 'uuid' }),
  kind: Type.Union([Type.Literal('image'), Type.Literal('video'), Type.Literal('document')]),
  /** of what `url` serves: image/webp for photos, video/mp4 or video/webm, application/pdf */
  contentType: Type.String(),
  /** bytes of what `url` serves */
  size: Type.Integer(),
  width: Type.Union([Type.Integer(), Type.Null()]),
  height: Type.Union([Type.Integer(), Type.Null()]),
  url: Type.String({ description: 'Signed; works until urlExpiresAt' }),
  thumbnailUrl: Type.Union([Type.String(), Type.Null()], { description: 'A photo at most 320 px, WebP' }),
  /** JPEG versions for clients without WebP */
  fallbackUrl: Type.Union([Type.String(), Type.Null()]),
  thumbnailFallbackUrl: Type.Union([Type.String(), Type.Null()]),
  urlExpiresAt: Type.String({ format: 'date-time' }),
  createdAt: Type.String({ format: 'date-time' }),
  /** admins only: whether the untouched upload was kept */
  originalKept: Type.Optional(Type.Boolean()),
  /** kept from the public by a moderator: shown so to staff (with the reason) and the uploader */
  hidden: Type.Optional(
    Type.Union([
      Type.Object({ at: Type.String({ format: 'date-time' }), reason: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
  ),
});
export type MediaItem = Static<typeof MediaItem>;

export const MediaList = Type.Object({ items: Type.Array(MediaItem) });

export const MediaParams = Type.Object({
  idOrReference: Type.String({ maxLength: 64 }),
  mediaId: Type.String({ format: 'uuid' }),
});

export const OriginalLink = Type.Object({
  url: Type.String(),
  contentType: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
});
