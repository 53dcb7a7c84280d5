import { Type, type Static } from 'typebox';

/** Counted in characters once the ends are trimmed (the service checks: a schema cannot trim). */
export const COMMENT_MAX_CHARS = 5000;
export const HIDE_REASON_MIN_CHARS = 3;
export const HIDE_REASON_MAX_CHARS = 500;

export const CommentCreate = Type.Object(
  {
    body: Type.String({
      minLength: 1,
      // room for whitespace around a full-length comment; the trimmed text is held to 5000
      maxLength: COMMENT_MAX_CHARS + 1000,
      description: `1 to ${COMMENT_MAX_CHARS} characters once leading and trailing whitespace is trimmed`,
    }),
    internal: Type.Optional(
      Type.Boolean({ description: "An internal note, read by the community's staff only (staff only)" }),
    ),
  },
  { additionalProperties: false },
);
export type CommentCreate = Static<typeof CommentCreate>;

export const CommentModeration = Type.Object(
  {
    reason: Type.String({
      minLength: HIDE_REASON_MIN_CHARS,
      maxLength: HIDE_REASON_MAX_CHARS,
      description: 'Why: shown to staff on the comment and kept in the audit trail, never to the public',
    }),
  },
  { additionalProperties: false },
);
export type CommentModeration = Static<typeof CommentModeration>;

export const CommentParams = Type.Object({
  idOrReference: Type.String({ maxLength: 64 }),
  // timeline event ids are bigints, shown as strings
  eventId: Type.String({ pattern: '^[1-9][0-9]{0,17}$' }),
});

export const Confirmations = Type.Object({
  confirmations: Type.Integer({ minimum: 0, description: 'how many people said "me too"' }),
  confirmed: Type.Boolean({ description: 'whether the caller has' }),
});
export type Confirmations = Static<typeof Confirmations>;

export const FollowingQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type FollowingQuery = Static<typeof FollowingQuery>;
