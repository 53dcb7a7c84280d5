import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { useI18n } from '../i18n/I18nProvider';
import type { Webhook } from './api';
import { ConfirmButton, Loading, Outcome, Section, useAction, useLoad } from './ui';

const EVENTS = [
  'incident.created',
  'incident.updated',
  'incident.commented',
  'incident.confirmed',
  'incident.media',
  'incident.moderated',
] as const;
type EventType = (typeof EVENTS)[number];

/**
 * General webhooks. One switched off after days of failure is the dead letter: it says why, and
 * switching it on again retries from the first event it did not take.
 */
export default function WebhooksAdmin() {
  const { t, dateTime, number } = useI18n();
  const list = useLoad(() => api.GET('/api/v1/admin/webhooks'), []);
  const action = useAction();
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<EventType[]>([]);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setSecret(null);
    const made = await action.run(
      () => api.POST('/api/v1/admin/webhooks', { body: { name: name.trim(), url: url.trim(), events } }),
      t('admin.created'),
    );
    if (made) {
      setSecret({ name: made.webhook.name, secret: made.secret });
      setName('');
      setUrl('');
      setEvents([]);
      list.reload();
    }
  };
  const patch = async (w: Webhook, enabled: boolean) => {
    const done = await action.run(
      () => api.PATCH('/api/v1/admin/webhooks/{id}', { params: { path: { id: w.id } }, body: { enabled } }),
      t(enabled ? 'admin.webhooks.resumed' : 'admin.saved'),
    );
    if (done) list.reload();
  };
  const remove = async (w: Webhook) => {
    const done = await action.run(
      () => api.DELETE('/api/v1/admin/webhooks/{id}', { params: { path: { id: w.id } } }),
      t('admin.deleted'),
    );
    if (done) list.reload();
  };
  const dead = (list.data?.items ?? []).filter((w) => !w.enabled);

  return (
    <>
      <Section title={t('admin.webhooks.list')}>
        <Loading loading={list.loading && !list.data} error={list.error} />
        {list.data?.items.length === 0 && <p>{t('admin.webhooks.none')}</p>}
        <ul className="admin-list">
          {list.data?.items.map((w) => (
            <li key={w.id}>
              <strong>{w.name}</strong> <span className="muted break">{w.url}</span>
              {!w.enabled && <span className="tag danger">{t('admin.off')}</span>}
              <small className="block">
                {w.events.length ? w.events.join(', ') : t('admin.webhooks.all_events')}
                {w.failures > 0 ? ` · ${t('admin.webhooks.failures', { count: w.failures })}` : ''}
              </small>{' '}
              <button
                type="button"
                className="secondary"
                disabled={action.busy}
                aria-label={t(w.enabled ? 'admin.switch_off_named' : 'admin.switch_on_named', { name: w.name })}
                onClick={() => void patch(w, !w.enabled)}
              >
                {t(w.enabled ? 'admin.switch_off' : 'admin.switch_on')}
              </button>{' '}
              <ConfirmButton
                label={t('admin.delete_named', { name: w.name })}
                confirmLabel={t('admin.confirm')}
                disabled={action.busy}
                onConfirm={() => void remove(w)}
              />
            </li>
          ))}
        </ul>
        <Outcome error={action.error} message={action.message} />
        {secret && (
          <div className="notice" role="status">
            <p>{t('admin.webhooks.secret_once', { name: secret.name })}</p>
            <code className="secret">{secret.secret}</code>
          </div>
        )}
      </Section>
      <Section title={t('admin.webhooks.dead')}>
        <p className="muted">{t('admin.webhooks.dead_help')}</p>
        {dead.length === 0 && <p>{t('admin.webhooks.dead_none')}</p>}
        <ul className="admin-list">
          {dead.map((w) => (
            <li key={w.id}>
              <strong>{w.name}</strong>
              {w.disabledReason && <small className="block">{w.disabledReason}</small>}
              {w.lastError && <small className="block">{w.lastError}</small>}
              <small className="block">
                {t('admin.webhooks.delivered', { seq: number(w.deliveredSeq) })}
                {w.failingSince ? ` · ${t('admin.webhooks.failing_since', { date: dateTime(w.failingSince) })}` : ''}
              </small>
              <button type="button" disabled={action.busy} onClick={() => void patch(w, true)}>
                {t('admin.webhooks.retry_named', { name: w.name })}
              </button>
            </li>
          ))}
        </ul>
      </Section>
      <Section title={t('admin.webhooks.new')}>
        <form className="admin-form" onSubmit={create}>
          <label htmlFor="wh-name">
            {t('admin.webhooks.name')} {t('admin.required')}
          </label>
          <input id="wh-name" required maxLength={200} value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <label htmlFor="wh-url">
            {t('admin.webhooks.url')} {t('admin.required')}
          </label>
          <input id="wh-url" type="url" required value={url} onChange={(e) => setUrl(e.currentTarget.value)} />
          <fieldset className="inner">
            <legend>{t('admin.webhooks.events')}</legend>
            {EVENTS.map((e) => (
              <label className="check" key={e}>
                <input
                  type="checkbox"
                  checked={events.includes(e)}
                  onChange={(ev) =>
                    setEvents(ev.currentTarget.checked ? [...events, e] : events.filter((x) => x !== e))
                  }
                />
                {e}
              </label>
            ))}
          </fieldset>
          <button type="submit" className="primary" disabled={action.busy}>
            {t('admin.create')}
          </button>
        </form>
      </Section>
    </>
  );
}
