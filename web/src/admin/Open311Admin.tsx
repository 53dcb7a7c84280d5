import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { useI18n } from '../i18n/I18nProvider';
import { ConfirmButton, Loading, Outcome, Section, useAction, useLoad } from './ui';

/** Open311 API keys: made here (the key is shown this once), listed without it, revoked. */
export default function Open311Admin() {
  const { t, dateTime } = useI18n();
  const list = useLoad(() => api.GET('/api/v1/admin/open311/keys'), []);
  const authorities = useLoad(() => api.GET('/api/v1/authorities'), []);
  const action = useAction();
  const [name, setName] = useState('');
  const [authorityId, setAuthorityId] = useState('');
  const [made, setMade] = useState<{ name: string; key: string } | null>(null);
  const authorityName = new Map((authorities.data?.items ?? []).map((a) => [a.id, a.name]));

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setMade(null);
    const key = await action.run(
      () =>
        api.POST('/api/v1/admin/open311/keys', {
          body: { name: name.trim(), ...(authorityId ? { authorityId } : {}) },
        }),
      t('admin.created'),
    );
    if (key) {
      setMade({ name: key.name, key: key.key });
      setName('');
      setAuthorityId('');
      list.reload();
    }
  };
  const revoke = async (id: string) => {
    const done = await action.run(
      () => api.DELETE('/api/v1/admin/open311/keys/{id}', { params: { path: { id } } }),
      t('admin.open311.revoked'),
    );
    if (done) list.reload();
  };

  return (
    <>
      <Section title={t('admin.open311.new')}>
        <form className="admin-form" onSubmit={create}>
          <label htmlFor="key-name">
            {t('admin.open311.name')} {t('admin.required')}
          </label>
          <input id="key-name" required maxLength={200} value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <label htmlFor="key-authority">{t('admin.open311.authority')}</label>
          <select id="key-authority" value={authorityId} onChange={(e) => setAuthorityId(e.currentTarget.value)}>
            <option value="">{t('admin.open311.no_authority')}</option>
            {authorities.data?.items.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
          <button type="submit" className="primary" disabled={action.busy}>
            {t('admin.create')}
          </button>
        </form>
        <Outcome error={action.error} message={action.message} />
        {made && (
          <div className="notice" role="status">
            <p>{t('admin.open311.shown_once', { name: made.name })}</p>
            <code className="secret" data-testid="new-key">
              {made.key}
            </code>
          </div>
        )}
      </Section>
      <Section title={t('admin.open311.list')}>
        <Loading loading={list.loading && !list.data} error={list.error} />
        {list.data?.items.length === 0 && <p>{t('admin.open311.none')}</p>}
        <ul className="admin-list">
          {list.data?.items.map((k) => (
            <li key={k.id}>
              <strong>{k.name}</strong> <code>{k.prefix}…</code>
              {k.authorityId && <span className="tag">{authorityName.get(k.authorityId) ?? k.authorityId}</span>}
              <small className="block">
                {t('admin.open311.created', { date: dateTime(k.createdAt) })}
                {' · '}
                {k.lastUsedAt
                  ? t('admin.open311.last_used', { date: dateTime(k.lastUsedAt) })
                  : t('admin.open311.never_used')}
              </small>
              {k.revokedAt ? (
                <span className="tag danger">{t('admin.open311.revoked_at', { date: dateTime(k.revokedAt) })}</span>
              ) : (
                <ConfirmButton
                  label={t('admin.open311.revoke', { name: k.name })}
                  confirmLabel={t('admin.confirm')}
                  disabled={action.busy}
                  onConfirm={() => void revoke(k.id)}
                />
              )}
            </li>
          ))}
        </ul>
      </Section>
    </>
  );
}
