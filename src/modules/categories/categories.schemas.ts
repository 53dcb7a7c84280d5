import { Type, type Static } from 'typebox';
import { CategorySla } from '../sla/sla.schemas.js';

export const Translations = Type.Object(
  {
    en: Type.String({ minLength: 1, maxLength: 500 }),
    af: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type Translations = { en: string; af?: string };

/** The Open311 datatypes an attribute can have; the list types carry `values`. */
export const ATTRIBUTE_DATATYPES = [
  'string',
  'number',
  'datetime',
  'text',
  'singlevaluelist',
  'multivaluelist',
] as const;
export type AttributeDatatype = (typeof ATTRIBUTE_DATATYPES)[number];
export const LIST_DATATYPES: readonly AttributeDatatype[] = ['singlevaluelist', 'multivaluelist'];

/** One extra question a report in this category asks (an Open311 service attribute), as stored. */
export const CategoryAttribute = Type.Object(
  {
    code: Type.String({ pattern: '^[a-z0-9_]{1,64}$' }),
    datatype: Type.Enum(ATTRIBUTE_DATATYPES),
    required: Type.Boolean(),
    description: Translations,
    order: Type.Integer({ minimum: 0, maximum: 10000 }),
    values: Type.Optional(
      Type.Array(
        Type.Object(
          { key: Type.String({ minLength: 1, maxLength: 100 }), name: Translations },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 200 },
      ),
    ),
  },
  { additionalProperties: false },
);
export interface CategoryAttribute {
  code: string;
  datatype: AttributeDatatype;
  required: boolean;
  description: Translations;
  order: number;
  values?: Array<{ key: string; name: Translations }>;
}
const Attributes = Type.Array(CategoryAttribute, { maxItems: 50 });

/** An attribute in the reader's language. */
export const LocalizedAttribute = Type.Object({
  code: Type.String(),
  datatype: Type.String(),
  required: Type.Boolean(),
  description: Type.String(),
  order: Type.Integer(),
  values: Type.Optional(Type.Array(Type.Object({ key: Type.String(), name: Type.String() }))),
});

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
  /** a report in it alerts the community's on-duty responders at once (emergency escalation) */
  emergency: Type.Boolean(),
  attributes: Type.Array(LocalizedAttribute),
});
export type Category = Static<typeof Category>;

/** what admins see and edit: every translation */
export const CategoryWithTranslations = Type.Object({
  ...Category.properties,
  translations: Type.Object({
    name: Translations,
    description: Type.Object({ en: Type.Optional(Type.String()), af: Type.Optional(Type.String()) }),
    attributes: Type.Array(CategoryAttribute),
  }),
  sortOrder: Type.Integer(),
  /** staff only: SLA targets in minutes (set through /admin/sla) */
  sla: Type.Optional(CategorySla),
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
    emergency: Type.Optional(Type.Boolean()),
    sortOrder: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000 })),
    attributes: Type.Optional(Attributes),
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
    emergency: Type.Optional(Type.Boolean()),
    sortOrder: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000 })),
    attributes: Type.Optional(Attributes),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type CategoryPatch = Static<typeof CategoryPatch>;
