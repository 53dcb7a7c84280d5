import { Type, type Static } from 'typebox';

export const EmergencyAlert = Type.Object({
  incidentId: Type.String({ format: 'uuid' }),
  reason: Type.String({ enum: ['critical', 'emergency_category'] }),
  state: Type.String({
    enum: ['active', 'acknowledged', 'exhausted', 'stopped'],
    description: 'exhausted: every level was alerted and nobody acknowledged yet; stopped: the incident was closed',
  }),
  level: Type.Integer({
    minimum: 0,
    maximum: 4,
    description: '1 staff on duty (or every responder), 2 moderators, 3 admins, 4 the external emergency system',
  }),
  startedAt: Type.String({ format: 'date-time' }),
  escalatesAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  acknowledgedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  acknowledgedBy: Type.Union([Type.Object({ id: Type.String(), displayName: Type.String() }), Type.Null()]),
  levels: Type.Array(Type.Object({ level: Type.Integer(), alertedAt: Type.String({ format: 'date-time' }) })),
});
export type EmergencyAlert = Static<typeof EmergencyAlert>;

export const CommunityQuery = Type.Object(
  { communityId: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);

export const OnDuty = Type.Object({
  communityId: Type.String({ format: 'uuid' }),
  since: Type.String({ format: 'date-time' }),
});

export const OnDutyList = Type.Object({
  items: Type.Array(
    Type.Object({
      communityId: Type.String({ format: 'uuid' }),
      communityName: Type.String(),
      since: Type.String({ format: 'date-time' }),
    }),
  ),
});
