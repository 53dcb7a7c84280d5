import { Type, type Static } from 'typebox';

export const Translations = Type.Object(
  {
    en: Type.String({ minLength: 1, maxLength: 500 }),
    af: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type Translations = { en: string; af?: string };

const Slug = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });
const Color = Type.String({ pattern: '^#[0-9a-fA-F]{6}$' });
const Icon = Type.String({ pattern: '^[a-z0-9-]{1,40}$' });

export const Category = Type.Object({
  id: Type.String({ format: 'uuid' }),
  slug: Type.String(),
  name: Type.String(),
  description: Type.String(),
  icon: Type.String(),
  color: Type.String(),
  active: Type.Boolean(),
  sensitive: Type.Boolean(),
});
export type Category = Static<typeof Category>;

/** what admins see and edit: every translation */
export const CategoryWithTranslations = Type.Object({
  ...Category.properties,
  translations: Type.Object({
    name: Translations,
    description: Type.Object({ en: Type.Optional(Type.String()), af: Type.Optional(Type.String()) }),
  }),
  sortOrder: Type.Integer(),
});

export const CategoryList = Type.Object({ items: Type.Array(Category) });

export const CategoryCreate = Type.Object(
  {
    slug: Slug,
    name: Translations,
    description: Type.Optional(Translations),
    icon: Type.Optional(Icon),
    color: Type.Optional(Color),
    active: Type.Optional(Type.Boolean()),
    sensitive: Type.Optional(Type.Boolean()),
    sortOrder: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000 })),
  },
  { additionalProperties: false },
);
export type CategoryCreate = Static<typeof CategoryCreate>;

export const CategoryPatch = Type.Object(
  {
    slug: Type.Optional(Slug),
    name: Type.Optional(Translations),
    description: Type.Optional(Translations),
    icon: Type.Optional(Icon),
    color: Type.Optional(Color),
    active: Type.Optional(Type.Boolean()),
    sensitive: Type.Optional(Type.Boolean()),
    sortOrder: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type CategoryPatch = Static<typeof CategoryPatch>;
