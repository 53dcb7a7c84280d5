import { Type, type Static } from 'typebox';

const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
const Password = Type.String({ minLength: 1, maxLength: 256 });

export const Register = Type.Object(
  {
    email: Email,
    password: Password,
    displayName: Type.String({ minLength: 1, maxLength: 100 }),
    locale: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('af')])),
    acceptTerms: Type.Optional(
      Type.Boolean({
        description:
          'true: the person ticked "I accept the terms and privacy notice"; false is refused. Left out ' +
          '(clients older than consent): registering still works and the current terms are recorded as ' +
          'accepted by registering, marked not explicit (GET /me/consents).',
      }),
    ),
    termsVersion: Type.Optional(
      Type.String({ minLength: 1, maxLength: 50, description: 'the version the form showed; must be the current one' }),
    ),
  },
  { additionalProperties: false },
);
export type Register = Static<typeof Register>;

export const Login = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Password },
  { additionalProperties: false },
);
export type Login = Static<typeof Login>;

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const PasswordChange = Type.Object(
  { currentPassword: Password, newPassword: Password },
  { additionalProperties: false },
);

export const RoleOut = Type.Object({
  role: Type.String({ enum: ['resident', 'moderator', 'responder', 'admin'] }),
  communityId: Type.Union([Type.String(), Type.Null()]),
});

export const Me = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  displayName: Type.String(),
  locale: Type.String(),
  roles: Type.Array(RoleOut),
  createdAt: Type.String({ format: 'date-time' }),
});
export type Me = Static<typeof Me>;

export const Session = Type.Object({
  user: Me,
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
});
export type Session = Static<typeof Session>;

const Locale = Type.Union([Type.Literal('en'), Type.Literal('af')]);

/** What the signed-in user may change about themselves; the language is kept per account. */
export const MePatch = Type.Object(
  { locale: Type.Optional(Locale), displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false },
);
export type MePatch = Static<typeof MePatch>;

// ---------------------------------------------------------------------------------------------
// Admin: accounts and their roles

export const AdminUserQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'part of the email or the name' })),
    role: Type.Optional(Type.Union([Type.Literal('moderator'), Type.Literal('responder'), Type.Literal('admin')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000, default: 0 })),
  },
  { additionalProperties: false },
);
export type AdminUserQuery = Static<typeof AdminUserQuery>;

export const AdminUser = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.Union([Type.String(), Type.Null()]),
  displayName: Type.String(),
  locale: Type.String(),
  roles: Type.Array(RoleOut, { description: 'granted roles (resident, which everyone has, is left out)' }),
  banned: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});
export type AdminUser = Static<typeof AdminUser>;

export const AdminUserList = Type.Object({
  items: Type.Array(AdminUser),
  total: Type.Integer({ description: 'how many match, over every page' }),
});
export type AdminUserList = Static<typeof AdminUserList>;

export const AdminUserParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const RoleChange = Type.Object(
  {
    role: Type.Union([Type.Literal('moderator'), Type.Literal('responder'), Type.Literal('admin')]),
    communityId: Type.Optional(
      Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
        description: 'the community, for moderator and responder; none for admin',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RoleChange = Static<typeof RoleChange>;
