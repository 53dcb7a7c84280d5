import { Type, type Static } from 'typebox';
import { STATUSES, type Status } from '../incidents/incidents.schemas.js';

/** What a template's text may be, per language: it is posted as a comment (at most 5,000 characters). */
export const TEMPLATE_TEXT_MAX = 2000;
/** The placeholders a text may use; anything else in braces is refused when the template is saved. */
export const PLACEHOLDERS = ['reference', 'title', 'status'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** The statuses a move can go to (nothing moves back to `reported`), so a template can be for them. */
export const TEMPLATE_STATUSES = STATUSES.filter((s): s is Exclude<Status, 'reported'> => s !== 'reported');

const Uuid = Type.String({ format: 'uuid' });
const Name = Type.String({ minLength: 1, maxLength: 100 });
const TargetStatus = Type.Union(TEMPLATE_STATUSES.map((s) => Type.Literal(s)));
const Text = Type.String({ minLength: 1, maxLength: TEMPLATE_TEXT_MAX });

/** Both languages: the text goes to the reporter in theirs. */
export const TemplateText = Type.Object({ en: Text, af: Text }, { additionalProperties: false });
export type TemplateText = Static<typeof TemplateText>;

export const Template = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  categoryId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'null: every category' }),
  status: Type.String({ enum: [...TEMPLATE_STATUSES] }),
  text: Type.Object({ en: Type.String(), af: Type.String() }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Template = Static<typeof Template>;

export const TemplateList = Type.Object({ items: Type.Array(Template) });

const textDescription = `en and af, each 1–${TEMPLATE_TEXT_MAX} characters; may use ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`;

export const TemplateCreate = Type.Object(
  {
    name: Name,
    categoryId: Type.Optional(Type.Union([Uuid, Type.Null()], { description: 'omitted or null: every category' })),
    status: TargetStatus,
    text: Type.Object(TemplateText.properties, { additionalProperties: false, description: textDescription }),
  },
  { additionalProperties: false },
);
export type TemplateCreate = Static<typeof TemplateCreate>;

export const TemplatePatch = Type.Object(
  {
    name: Type.Optional(Name),
    categoryId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    status: Type.Optional(TargetStatus),
    text: Type.Optional(Type.Object(TemplateText.properties, { additionalProperties: false })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type TemplatePatch = Static<typeof TemplatePatch>;

export const TemplateListQuery = Type.Object(
  {
    categoryId: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'the templates that apply to this category: its own and those for every category',
      }),
    ),
    status: Type.Optional(TargetStatus),
    lang: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type TemplateListQuery = Static<typeof TemplateListQuery>;

export const TemplateParams = Type.Object({ id: Uuid });
