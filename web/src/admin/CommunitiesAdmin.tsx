import { lazy, Suspense, useMemo, useState, type ChangeEvent, type FormEvent } from 'react';
import { api } from '../api/client';
import { useI18n } from '../i18n/I18nProvider';
import type { Community, CommunityCreate } from './api';
import { parseBoundary } from './geojson';
import { Loading, Outcome, Section, useAction, useLoad } from './ui';

// Leaflet only for those who open a community's form
const BoundaryMap = lazy(() => import('./BoundaryMap'));

interface Draft {
  slug: string;
  name: string;
  parentId: string;
  anonymousReporting: boolean;
  premoderation: boolean;
  boundary: string;
}

const EMPTY: Draft = {
  slug: '',
  name: '',
  parentId: '',
  anonymousReporting: false,
  premoderation: false,
  boundary: '',
};

const draftOf = (c: Community): Draft => ({
  slug: c.slug,
  name: c.name,
  parentId: c.parentId ?? '',
  anonymousReporting: c.anonymousReporting,
  premoderation: c.premoderation,
  boundary: JSON.stringify(c.boundary),
});

/** Communities: name, parent, reporting rules, and the boundary (GeoJSON pasted, uploaded or drawn). */
export default function CommunitiesAdmin() {
  const { t } = useI18n();
  const list = useLoad(() => api.GET('/api/v1/communities'), []);
  const [editing, setEditing] = useState<{ id: string | null; draft: Draft } | null>(null);
  const [notice, setNotice] = useState('');
  const items = list.data?.items ?? [];

  return (
    <>
      <Section title={t('admin.communities.list')}>
        <Loading loading={list.loading && !list.data} error={list.error} />
        {list.data?.items.length === 0 && <p>{t('admin.communities.none')}</p>}
        <ul className="admin-list">
          {items.map((c) => (
            <li key={c.id}>
              <strong>{c.name}</strong> <span className="muted">({c.slug})</span>
              {c.premoderation && <span className="tag">{t('admin.communities.premoderation_tag')}</span>}{' '}
              <button
                type="button"
                className="secondary"
                aria-label={t('admin.edit_named', { name: c.name })}
                onClick={() => {
                  setNotice('');
                  setEditing({ id: c.id, draft: draftOf(c) });
                }}
              >
                {t('admin.edit')}
              </button>
            </li>
          ))}
        </ul>
        {!editing && (
          <button
            type="button"
            onClick={() => {
              setNotice('');
              setEditing({ id: null, draft: EMPTY });
            }}
          >
            {t('admin.communities.new')}
          </button>
        )}
        <Outcome error="" message={notice} />
      </Section>
      {editing && (
        <CommunityForm
          key={editing.id ?? 'new'}
          id={editing.id}
          initial={editing.draft}
          others={items.filter((c) => c.id !== editing.id)}
          onDone={(message) => {
            setEditing(null);
            setNotice(message);
            list.reload();
          }}
        />
      )}
    </>
  );
}

function CommunityForm({
  id,
  initial,
  others,
  onDone,
}: {
  id: string | null;
  initial: Draft;
  others: Community[];
  onDone: (message: string) => void;
}) {
  const { t } = useI18n();
  const [d, setD] = useState(initial);
  const [boundaryError, setBoundaryError] = useState('');
  const action = useAction();
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setD((prev) => ({ ...prev, [key]: value }));
  const boundary = useMemo(() => parseBoundary(d.boundary), [d.boundary]);

  const upload = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.currentTarget.files?.[0];
    if (!file) return;
    const text = await file.text();
    set('boundary', text);
    setBoundaryError(parseBoundary(text) ? '' : t('admin.communities.boundary_invalid'));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!boundary) {
      setBoundaryError(t('admin.communities.boundary_invalid'));
      document.getElementById('com-boundary')?.focus();
      return;
    }
    setBoundaryError('');
    const body: CommunityCreate = {
      slug: d.slug.trim(),
      name: d.name.trim(),
      parentId: d.parentId || null,
      anonymousReporting: d.anonymousReporting,
      premoderation: d.premoderation,
      boundary,
    };
    const done = await action.run(() =>
      id
        ? api.PATCH('/api/v1/communities/{id}', { params: { path: { id } }, body })
        : api.POST('/api/v1/communities', { body }),
    );
    if (done) onDone(t(id ? 'admin.saved' : 'admin.created'));
  };

  return (
    <Section title={id ? t('admin.communities.edit', { name: initial.name }) : t('admin.communities.new')}>
      <form onSubmit={submit} className="admin-form">
        <label htmlFor="com-name">
          {t('admin.communities.name')} {t('admin.required')}
        </label>
        <input
          id="com-name"
          required
          maxLength={200}
          value={d.name}
          onChange={(e) => set('name', e.currentTarget.value)}
        />
        <label htmlFor="com-slug">
          {t('admin.slug')} {t('admin.required')}
        </label>
        <input
          id="com-slug"
          required
          pattern="[a-z0-9][a-z0-9\-]{0,62}"
          aria-describedby="com-slug-hint"
          value={d.slug}
          onChange={(e) => set('slug', e.currentTarget.value)}
        />
        <small id="com-slug-hint">{t('admin.slug_hint')}</small>
        <label htmlFor="com-parent">{t('admin.communities.parent')}</label>
        <select id="com-parent" value={d.parentId} onChange={(e) => set('parentId', e.currentTarget.value)}>
          <option value="">{t('admin.communities.no_parent')}</option>
          {others.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        <label className="check">
          <input
            type="checkbox"
            checked={d.anonymousReporting}
            onChange={(e) => set('anonymousReporting', e.currentTarget.checked)}
          />
          {t('admin.communities.anonymous')}
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={d.premoderation}
            onChange={(e) => set('premoderation', e.currentTarget.checked)}
          />
          {t('admin.communities.premoderation')}
        </label>

        <fieldset>
          <legend>{t('admin.communities.boundary')}</legend>
          <label htmlFor="com-file">{t('admin.communities.upload')}</label>
          <input
            id="com-file"
            type="file"
            accept=".geojson,.json,application/geo+json,application/json"
            onChange={(e) => void upload(e)}
          />
          <label htmlFor="com-boundary">{t('admin.communities.paste')}</label>
          <textarea
            id="com-boundary"
            rows={5}
            spellCheck={false}
            aria-describedby="com-boundary-state"
            aria-invalid={boundaryError ? true : undefined}
            value={d.boundary}
            onChange={(e) => set('boundary', e.currentTarget.value)}
          />
          <p id="com-boundary-state" className={boundaryError ? 'field-error' : 'muted'}>
            {boundaryError ||
              (boundary
                ? t('admin.communities.boundary_ok', {
                    count: boundary.type === 'Polygon' ? 1 : boundary.coordinates.length,
                  })
                : t('admin.communities.boundary_none'))}
          </p>
          <Suspense fallback={<p>{t('app.loading')}</p>}>
            <BoundaryMap
              current={boundary}
              onUse={(drawn) => {
                set('boundary', JSON.stringify(drawn));
                setBoundaryError('');
              }}
            />
          </Suspense>
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
