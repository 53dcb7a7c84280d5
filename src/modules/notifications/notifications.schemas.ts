import { Type } from 'typebox';
import { NOTIFICATION_KINDS, PREFERENCE_KINDS } from './notifications.rules.js';

const Switches = Type.Object(
  { email: Type.Boolean(), push: Type.Boolean(), inApp: Type.Boolean() },
  { additionalProperties: false },
);
const PartialSwitches = Type.Partial(Switches, { additionalProperties: false });

export const Notification = Type.Object({
  id: Type.String(),
  kind: Type.String({ enum: [...NOTIFICATION_KINDS] }),
  text: Type.String({ description: 'one line in the caller’s language' }),
  incident: Type.Object({ id: Type.String(), reference: Type.String(), title: Type.String() }),
  status: Type.Union([Type.Object({ from: Type.String(), to: Type.String() }), Type.Null()]),
  excerpt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  readAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const NotificationList = Type.Object({
  items: Type.Array(Notification),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  unreadCount: Type.Integer(),
});

export const NotificationQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 100 })),
    unread: Type.Optional(Type.Boolean({ description: 'only the unread ones' })),
  },
  { additionalProperties: false },
);

export const MarkRead = Type.Object(
  {
    ids: Type.Optional(Type.Array(Type.String({ maxLength: 20 }), { minItems: 1, maxItems: 500 })),
    all: Type.Optional(Type.Literal(true)),
  },
  { additionalProperties: false, description: 'either ids or all: true' },
);

export const MarkReadResult = Type.Object({ updated: Type.Integer(), unreadCount: Type.Integer() });

const kinds = Object.fromEntries(PREFERENCE_KINDS.map((k) => [k, Switches])) as Record<
  (typeof PREFERENCE_KINDS)[number],
  typeof Switches
>;
const partialKinds = Object.fromEntries(PREFERENCE_KINDS.map((k) => [k, Type.Optional(PartialSwitches)])) as Record<
  (typeof PREFERENCE_KINDS)[number],
  ReturnType<typeof Type.Optional<typeof PartialSwitches>>
>;

export const Preferences = Type.Object({
  channels: Switches,
  kinds: Type.Object(kinds),
  reporterUpdates: Type.Boolean({ description: 'as the reporter, hear about the report even when not following it' }),
});

export const PreferencesPatch = Type.Object(
  {
    channels: Type.Optional(PartialSwitches),
    kinds: Type.Optional(Type.Object(partialKinds, { additionalProperties: false })),
    reporterUpdates: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const PushSubscription = Type.Object(
  {
    endpoint: Type.String({ minLength: 8, maxLength: 2000 }),
    keys: Type.Object(
      {
        p256dh: Type.String({ minLength: 80, maxLength: 100, pattern: '^[A-Za-z0-9_-]+=*$' }),
        auth: Type.String({ minLength: 16, maxLength: 30, pattern: '^[A-Za-z0-9_-]+=*$' }),
      },
      { additionalProperties: false },
    ),
    expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  },
  { additionalProperties: false, description: 'PushSubscription.toJSON() from the browser' },
);

export const PushEndpoint = Type.Object(
  { endpoint: Type.String({ minLength: 8, maxLength: 2000 }) },
  { additionalProperties: false },
);

export const UnsubscribeParams = Type.Object({ token: Type.String({ minLength: 10, maxLength: 100 }) });

export const UnsubscribeResult = Type.Object({
  unsubscribed: Type.Literal(true),
  channel: Type.String(),
  kind: Type.String(),
});
