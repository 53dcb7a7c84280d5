import { useState, type ChangeEvent, type FormEvent } from 'react';
import { api } from '../api/client';
import { useI18n } from '../i18n/I18nProvider';
import type { TKey } from '../i18n/i18n';
import type { Authority } from './api';
import { parseBoundary } from './geojson';
import { ConfirmButton, Loading, Outcome, Section, useAction, useLoad } from './ui';

type Kind = 'none' | 'webhook' | 'open311';

/**
 * Authorities (who incidents are forwarded to): the list, switching one off or on, a new one
 * (jurisdiction as GeoJSON), and the forwarding dead letters with a retry each.
 */
export default function AuthoritiesAdmin() {
  const { t } = useI18n();
  const list = useLoad(() => api.GET('/api/v1/authorities'), []);
  const action = useAction();
  const [adding, setAdding] = useState(false);

  const setEnabled = async (a: Authority, enabled: boolean) => {
    const done = await action.run(
      () => api.PATCH('/api/v1/authorities/{id}', { params: { path: { id: a.id } }, body: { enabled } }),
      t('admin.saved'),
    );
    if (done) list.reload();
  };

  return (
    <>
      <Section title={t('admin.authorities.list')}>
        <Loading loading={list.loading && !list.data} error={list.error} />
        {list.data?.items.length === 0 && <p>{t('admin.authorities.none')}</p>}
        <ul className="admin-list">
          {list.data?.items.map((a) => (
            <li key={a.id}>
              <strong>{a.name}</strong> <span className="muted">({a.slug})</span>{' '}
              <span className="tag">{t(`admin.authorities.kind.${a.delivery.kind}` as TKey)}</span>
              {!a.enabled && <span className="tag danger">{t('admin.off')}</span>}
              {a.disabledReason && <small className="block">{a.disabledReason}</small>}{' '}
              <button
                type="button"
                className="secondary"
                disabled={action.busy}
                aria-label={t(a.enabled ? 'admin.switch_off_named' : 'admin.switch_on_named', { name: a.name })}
                onClick={() => void setEnabled(a, !a.enabled)}
              >
                {t(a.enabled ? 'admin.switch_off' : 'admin.switch_on')}
              </button>
            </li>
          ))}
        </ul>
        <Outcome error={action.error} message={action.message} />
        {!adding && (
          <button type="button" onClick={() => setAdding(true)}>
            {t('admin.authorities.new')}
          </button>
        )}
      </Section>
      {adding && (
        <AuthorityForm
          onDone={(created) => {
            setAdding(false);
            if (created) list.reload();
          }}
        />
      )}
      <DeadForwards />
    </>
  );
}

function AuthorityForm({ onDone }: { onDone: (created: boolean) => void }) {
  const { t } = useI18n();
  const action = useAction();
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [kind, setKind] = useState<Kind>('none');
  const [url, setUrl] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [jurisdiction, setJurisdiction] = useState('');
  const [invalid, setInvalid] = useState('');

  const upload = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.currentTarget.files?.[0];
    if (file) setJurisdiction(await file.text());
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const boundary = parseBoundary(jurisdiction);
    if (!boundary) {
      setInvalid(t('admin.communities.boundary_invalid'));
      document.getElementById('auth-area')?.focus();
      return;
    }
    setInvalid('');
    const delivery =
      kind === 'webhook'
        ? { kind, url: url.trim() }
        : kind === 'open311'
          ? { kind, endpoint: url.trim(), ...(apiKey.trim() ? { apiKey: apiKey.trim() } : {}) }
          : { kind };
    const done = await action.run(() =>
      api.POST('/api/v1/authorities', {
        body: { name: name.trim(), slug: slug.trim(), jurisdiction: boundary, delivery },
      }),
    );
    if (done) onDone(true);
  };

  return (
    <Section title={t('admin.authorities.new')}>
      <form className="admin-form" onSubmit={submit}>
        <label htmlFor="auth-name">
          {t('admin.authorities.name')} {t('admin.required')}
        </label>
        <input id="auth-name" required maxLength={200} value={name} onChange={(e) => setName(e.currentTarget.value)} />
        <label htmlFor="auth-slug">
          {t('admin.slug')} {t('admin.required')}
        </label>
        <input
          id="auth-slug"
          required
          pattern="[a-z0-9][a-z0-9\-]{0,62}"
          aria-describedby="auth-slug-hint"
          value={slug}
          onChange={(e) => setSlug(e.currentTarget.value)}
        />
        <small id="auth-slug-hint">{t('admin.slug_hint')}</small>
        <label htmlFor="auth-kind">{t('admin.authorities.delivery')}</label>
        <select id="auth-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
          {(['none', 'webhook', 'open311'] as const).map((k) => (
            <option key={k} value={k}>
              {t(`admin.authorities.kind.${k}` as TKey)}
            </option>
          ))}
        </select>
        {kind !== 'none' && (
          <>
            <label htmlFor="auth-url">
              {t(kind === 'webhook' ? 'admin.authorities.url' : 'admin.authorities.endpoint')} {t('admin.required')}
            </label>
            <input id="auth-url" type="url" required value={url} onChange={(e) => setUrl(e.currentTarget.value)} />
          </>
        )}
        {kind === 'open311' && (
          <>
            <label htmlFor="auth-key">{t('admin.authorities.api_key')}</label>
            <input id="auth-key" autoComplete="off" value={apiKey} onChange={(e) => setApiKey(e.currentTarget.value)} />
          </>
        )}
        <label htmlFor="auth-file">{t('admin.authorities.area_upload')}</label>
        <input
          id="auth-file"
          type="file"
          accept=".geojson,.json,application/geo+json,application/json"
          onChange={(e) => void upload(e)}
        />
        <label htmlFor="auth-area">
          {t('admin.authorities.area')} {t('admin.required')}
        </label>
        <textarea
          id="auth-area"
          rows={5}
          spellCheck={false}
          aria-invalid={invalid ? true : undefined}
          aria-describedby="auth-area-state"
          value={jurisdiction}
          onChange={(e) => setJurisdiction(e.currentTarget.value)}
        />
        <p id="auth-area-state" className="field-error">
          {invalid}
        </p>
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy}>
            {t('admin.create')}
          </button>
          <button type="button" className="secondary" onClick={() => onDone(false)}>
            {t('admin.cancel')}
          </button>
        </div>
        <Outcome error={action.error} message={action.message} />
      </form>
    </Section>
  );
}

function DeadForwards() {
  const { t, dateTime, number } = useI18n();
  const [cursor, setCursor] = useState<string | null>(null);
  const dead = useLoad(
    () => api.GET('/api/v1/admin/forwarding/dead', { params: { query: cursor ? { cursor } : {} } }),
    [cursor],
  );
  const action = useAction();
  const replay = async (jobId: string) => {
    const done = await action.run(
      () => api.POST('/api/v1/admin/forwarding/dead/{jobId}/replay', { params: { path: { jobId } } }),
      t('admin.authorities.replayed'),
    );
    if (done) dead.reload();
  };
  return (
    <Section title={t('admin.authorities.dead')}>
      <p className="muted">{t('admin.authorities.dead_help')}</p>
      <Loading loading={dead.loading && !dead.data} error={dead.error} />
      {dead.data?.items.length === 0 && <p>{t('admin.authorities.dead_none')}</p>}
      <ul className="admin-list">
        {dead.data?.items.map((d) => (
          <li key={d.jobId}>
            <strong>{d.incident?.reference ?? '—'}</strong> → {d.authority?.name ?? '—'}{' '}
            <span className="muted">
              {t('admin.authorities.attempts', { done: number(d.attempts), max: number(d.maxAttempts) })}
              {d.deadAt ? ` · ${dateTime(d.deadAt)}` : ''}
            </span>
            {d.lastError && <small className="block">{d.lastError}</small>}
            <ConfirmButton
              label={t('admin.authorities.replay')}
              confirmLabel={t('admin.confirm')}
              disabled={action.busy}
              onConfirm={() => void replay(d.jobId)}
            />
          </li>
        ))}
      </ul>
      <Outcome error={action.error} message={action.message} />
      {dead.data?.nextCursor && (
        <button type="button" className="secondary" onClick={() => setCursor(dead.data!.nextCursor)}>
          {t('admin.next')}
        </button>
      )}
    </Section>
  );
}
