import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { useI18n } from '../i18n/I18nProvider';
import type { TKey } from '../i18n/i18n';
import type { AdminCategory, AttributeDef, CategoryCreate } from './api';
import { Loading, Outcome, Section, translations, TwoLanguages, useAction, useLoad } from './ui';

const DATATYPES = ['string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist'] as const;
type Datatype = (typeof DATATYPES)[number];
const isList = (d: Datatype) => d === 'singlevaluelist' || d === 'multivaluelist';

interface AttributeDraft {
  code: string;
  datatype: Datatype;
  required: boolean;
  description: { en: string; af: string };
  /** one value a line: key | English | Afrikaans */
  values: string;
}
interface Draft {
  slug: string;
  name: { en: string; af: string };
  description: { en: string; af: string };
  icon: string;
  color: string;
  active: boolean;
  sensitive: boolean;
  emergency: boolean;
  attributes: AttributeDraft[];
}

const EMPTY: Draft = {
  slug: '',
  name: { en: '', af: '' },
  description: { en: '', af: '' },
  icon: 'circle',
  color: '#1f6feb',
  active: true,
  sensitive: false,
  emergency: false,
  attributes: [],
};

function draftOf(c: AdminCategory): Draft {
  const tr = c.translations;
  return {
    slug: c.slug,
    name: { en: tr.name.en, af: tr.name.af ?? '' },
    description: { en: tr.description.en ?? '', af: tr.description.af ?? '' },
    icon: c.icon,
    color: c.color,
    active: c.active,
    sensitive: c.sensitive,
    emergency: c.emergency,
    attributes: tr.attributes.map((a) => ({
      code: a.code,
      datatype: a.datatype as Datatype,
      required: a.required,
      description: { en: a.description.en, af: a.description.af ?? '' },
      values: (a.values ?? []).map((v) => [v.key, v.name.en, v.name.af ?? ''].join(' | ')).join('\n'),
    })),
  };
}

export function bodyOf(d: Draft): CategoryCreate {
  const description = translations(d.description);
  const attributes: AttributeDef[] = d.attributes.map((a, order) => {
    const values = a.values
      .split('\n')
      .map((line) => line.split('|').map((part) => part.trim()))
      .filter((parts) => parts[0])
      .map(([key, en, af]) => ({ key: key!, name: translations({ en: en || key!, af: af ?? '' }) }));
    return {
      code: a.code.trim(),
      datatype: a.datatype,
      required: a.required,
      description: translations(a.description),
      order,
      ...(isList(a.datatype) ? { values } : {}),
    };
  });
  return {
    slug: d.slug.trim(),
    name: translations(d.name),
    ...(description.en ? { description } : {}),
    icon: d.icon.trim(),
    color: d.color,
    active: d.active,
    sensitive: d.sensitive,
    emergency: d.emergency,
    attributes,
  };
}

/** Categories: names and descriptions in both languages, icon, colour, active, sensitive, extra questions. */
export default function CategoriesAdmin() {
  const { t } = useI18n();
  const list = useLoad(() => api.GET('/api/v1/categories', { params: { query: { includeInactive: true } } }), []);
  const [editing, setEditing] = useState<{ id: string | null; draft: Draft } | null>(null);
  const action = useAction();
  const [notice, setNotice] = useState('');

  const edit = async (id: string) => {
    setNotice('');
    const found = await action.run(() => api.GET('/api/v1/categories/{id}', { params: { path: { id } } }));
    if (found) setEditing({ id, draft: draftOf(found) });
  };

  return (
    <>
      <Section title={t('admin.categories.list')}>
        <Loading loading={list.loading && !list.data} error={list.error} />
        <ul className="admin-list">
          {list.data?.items.map((c) => (
            <li key={c.id}>
              <span className="swatch" style={{ background: c.color }} aria-hidden="true" />
              <strong>{c.name}</strong> <span className="muted">({c.slug})</span>
              {!c.active && <span className="tag">{t('admin.categories.inactive')}</span>}
              {c.sensitive && <span className="tag">{t('admin.categories.sensitive')}</span>}
              {c.emergency && <span className="tag danger">{t('admin.categories.emergency')}</span>}{' '}
              <button
                type="button"
                className="secondary"
                aria-label={t('admin.edit_named', { name: c.name })}
                onClick={() => void edit(c.id)}
              >
                {t('admin.edit')}
              </button>
            </li>
          ))}
        </ul>
        {!editing && (
          <button type="button" onClick={() => setEditing({ id: null, draft: EMPTY })}>
            {t('admin.categories.new')}
          </button>
        )}
        <Outcome error={editing ? '' : action.error} message={editing ? '' : notice} />
      </Section>
      {editing && (
        <CategoryForm
          key={editing.id ?? 'new'}
          id={editing.id}
          initial={editing.draft}
          onDone={(message) => {
            setEditing(null);
            list.reload();
            setNotice(message);
          }}
        />
      )}
    </>
  );
}

function CategoryForm({
  id,
  initial,
  onDone,
}: {
  id: string | null;
  initial: Draft;
  onDone: (message: string) => void;
}) {
  const { t } = useI18n();
  const [d, setD] = useState<Draft>(initial);
  const action = useAction();
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setD((prev) => ({ ...prev, [key]: value }));
  const setAttr = (i: number, change: Partial<AttributeDraft>) =>
    set(
      'attributes',
      d.attributes.map((a, j) => (j === i ? { ...a, ...change } : a)),
    );

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body = bodyOf(d);
    const done = await action.run(() =>
      id
        ? api.PATCH('/api/v1/categories/{id}', { params: { path: { id } }, body })
        : api.POST('/api/v1/categories', { body }),
    );
    if (done) onDone(t(id ? 'admin.saved' : 'admin.created'));
  };

  const title = id ? t('admin.categories.edit', { name: initial.name.en }) : t('admin.categories.new');
  return (
    <Section title={title}>
      <form onSubmit={submit} className="admin-form">
        <label htmlFor="cat-slug">
          {t('admin.slug')} {t('admin.required')}
        </label>
        <input
          id="cat-slug"
          required
          pattern="[a-z0-9][a-z0-9\-]{0,62}"
          aria-describedby="cat-slug-hint"
          value={d.slug}
          onChange={(e) => set('slug', e.currentTarget.value)}
        />
        <small id="cat-slug-hint">{t('admin.slug_hint')}</small>
        <TwoLanguages
          id="cat-name"
          legend={t('admin.categories.name')}
          value={d.name}
          required
          onChange={(v) => set('name', v)}
        />
        <TwoLanguages
          id="cat-description"
          legend={t('admin.categories.description')}
          value={d.description}
          multiline
          onChange={(v) => set('description', v)}
        />
        <div className="row">
          <div>
            <label htmlFor="cat-icon">{t('admin.categories.icon')}</label>
            <input
              id="cat-icon"
              pattern="[a-z0-9\-]{1,40}"
              aria-describedby="cat-icon-hint"
              value={d.icon}
              onChange={(e) => set('icon', e.currentTarget.value)}
            />
            <small id="cat-icon-hint">{t('admin.categories.icon_hint')}</small>
          </div>
          <div>
            <label htmlFor="cat-color">{t('admin.categories.color')}</label>
            <input id="cat-color" type="color" value={d.color} onChange={(e) => set('color', e.currentTarget.value)} />
          </div>
        </div>
        <label className="check">
          <input type="checkbox" checked={d.active} onChange={(e) => set('active', e.currentTarget.checked)} />
          {t('admin.categories.active')}
        </label>
        <label className="check">
          <input type="checkbox" checked={d.sensitive} onChange={(e) => set('sensitive', e.currentTarget.checked)} />
          {t('admin.categories.sensitive_hint')}
        </label>
        <label className="check">
          <input type="checkbox" checked={d.emergency} onChange={(e) => set('emergency', e.currentTarget.checked)} />
          {t('admin.categories.emergency_hint')}
        </label>

        <fieldset>
          <legend>{t('admin.categories.attributes')}</legend>
          {d.attributes.length === 0 && <p className="muted">{t('admin.categories.no_attributes')}</p>}
          {d.attributes.map((a, i) => (
            <fieldset className="inner" key={i}>
              <legend>{t('admin.categories.attribute', { number: i + 1 })}</legend>
              <label htmlFor={`attr-${i}-code`}>
                {t('admin.categories.attribute_code')} {t('admin.required')}
              </label>
              <input
                id={`attr-${i}-code`}
                required
                pattern="[a-z0-9_]{1,64}"
                value={a.code}
                onChange={(e) => setAttr(i, { code: e.currentTarget.value })}
              />
              <label htmlFor={`attr-${i}-type`}>{t('admin.categories.attribute_type')}</label>
              <select
                id={`attr-${i}-type`}
                value={a.datatype}
                onChange={(e) => setAttr(i, { datatype: e.currentTarget.value as Datatype })}
              >
                {DATATYPES.map((dt) => (
                  <option key={dt} value={dt}>
                    {t(`admin.datatype.${dt}` as TKey)}
                  </option>
                ))}
              </select>
              <label className="check">
                <input
                  type="checkbox"
                  checked={a.required}
                  onChange={(e) => setAttr(i, { required: e.currentTarget.checked })}
                />
                {t('admin.categories.attribute_required')}
              </label>
              <TwoLanguages
                id={`attr-${i}-q`}
                legend={t('admin.categories.attribute_question')}
                value={a.description}
                required
                onChange={(v) => setAttr(i, { description: v })}
              />
              {isList(a.datatype) && (
                <>
                  <label htmlFor={`attr-${i}-values`}>{t('admin.categories.attribute_values')}</label>
                  <textarea
                    id={`attr-${i}-values`}
                    rows={4}
                    aria-describedby={`attr-${i}-values-hint`}
                    value={a.values}
                    onChange={(e) => setAttr(i, { values: e.currentTarget.value })}
                  />
                  <small id={`attr-${i}-values-hint`}>{t('admin.categories.attribute_values_hint')}</small>
                </>
              )}
              <button
                type="button"
                className="secondary"
                onClick={() =>
                  set(
                    'attributes',
                    d.attributes.filter((_, j) => j !== i),
                  )
                }
              >
                {t('admin.categories.attribute_remove', { number: i + 1 })}
              </button>
            </fieldset>
          ))}
          <button
            type="button"
            className="secondary"
            onClick={() =>
              set('attributes', [
                ...d.attributes,
                { code: '', datatype: 'string', required: false, description: { en: '', af: '' }, values: '' },
              ])
            }
          >
            {t('admin.categories.attribute_add')}
          </button>
        </fieldset>

        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy}>
            {id ? t('admin.save') : t('admin.create')}
          </button>
          <button type="button" className="secondary" onClick={() => onDone('')}>
            {t('admin.cancel')}
          </button>
        </div>
        <Outcome error={action.error} message={action.message} />
      </form>
    </Section>
  );
}
