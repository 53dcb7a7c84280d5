import { Type } from 'typebox';

export const FEED_FORMATS = ['rss', 'atom'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];
/** Entries per feed: the newest public reports. */
export const FEED_SIZE = 50;
export const MAX_FEED_RADIUS_M = 50_000;

const Format = Type.String({ enum: [...FEED_FORMATS], description: 'rss (RSS 2.0) or atom (Atom 1.0)' });
const Lang = Type.Optional(Type.String({ description: 'en or af (wins over Accept-Language)' }));

export const AllFeedParams = Type.Object({ format: Format });
export const CommunityFeedParams = Type.Object({ id: Type.String({ format: 'uuid' }), format: Format });
export const CategoryFeedParams = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 64 }), format: Format });
export const FeedQuery = Type.Object({ lang: Lang }, { additionalProperties: false });
export const AreaFeedQuery = Type.Object(
  {
    near: Type.Optional(Type.String({ description: 'LON,LAT (with radius)' })),
    radius: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_FEED_RADIUS_M, description: 'metres, default 1000' }),
    ),
    bbox: Type.Optional(Type.String({ description: 'MINLON,MINLAT,MAXLON,MAXLAT (instead of near)' })),
    lang: Lang,
  },
  { additionalProperties: false },
);

/** The XML itself (RSS 2.0 or Atom 1.0). */
export const FeedBody = Type.String({ description: 'application/rss+xml or application/atom+xml' });
