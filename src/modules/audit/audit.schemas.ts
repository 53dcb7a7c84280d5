import { Type, type Static } from 'typebox';

export const AuditListQuery = Type.Object(
  {
    actorId: Type.Optional(Type.String({ format: 'uuid' })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, examples: ['incident.update'] })),
    entityType: Type.Optional(Type.String({ minLength: 1, maxLength: 100, examples: ['incident'] })),
    entityId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive' })),
    until: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type AuditListQuery = Static<typeof AuditListQuery>;

export const AuditRecord = Type.Object({
  id: Type.String({ description: 'increasing with insertion' }),
  seq: Type.Union([Type.Integer(), Type.Null()], { description: 'position in the hash chain; null until sealed' }),
  sealed: Type.Boolean(),
  hash: Type.Union([Type.String(), Type.Null()], {
    description: 'SHA-256 (hex) chaining this record to the previous one',
  }),
  actorId: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  entityType: Type.String(),
  entityId: Type.String(),
  data: Type.Unknown(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  requestId: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
export type AuditRecord = Static<typeof AuditRecord>;

export const AuditList = Type.Object({
  items: Type.Array(AuditRecord),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type AuditList = Static<typeof AuditList>;
