import { useEffect, useState, useSyncExternalStore } from 'react';
import { api, type Incident } from '../api/client';
import { getSession, subscribeSession } from '../auth/session';
import { useI18n } from '../i18n/I18nProvider';
import { listItems, onOutboxChange, removeItem, type OutboxItem } from '../offline/outbox';
import { Link } from '../router';
import { StatusBadge } from '../StatusBadge';

export default function MyReportsPage() {
  const { t, lang, date, dateTime } = useI18n();
  const session = useSyncExternalStore(subscribeSession, getSession);
  const [items, setItems] = useState<Incident[] | null>(null);
  const [queued, setQueued] = useState<OutboxItem[]>([]);

  useEffect(() => {
    const load = () => void listItems().then(setQueued, () => setQueued([]));
    load();
    return onOutboxChange(load);
  }, []);

  useEffect(() => {
    if (!session) return;
    void api
      .GET('/api/v1/incidents', { params: { query: { reporter: 'me', sort: '-createdAt', limit: 100, lang } } })
      .then(({ data }) => setItems(data?.items ?? []));
  }, [session, lang]);

  if (!session) {
    return (
      <div className="page narrow">
        <h1>{t('mine.title')}</h1>
        <p>
          <Link href="/signin?next=/me">{t('mine.signin_needed')}</Link>
        </p>
      </div>
    );
  }
  return (
    <div className="page narrow">
      <h1>{t('mine.title')}</h1>
      {queued.length > 0 && (
        <section aria-labelledby="queued-heading">
          <h2 id="queued-heading">{t('queue.title')}</h2>
          <ul className="incident-list">
            {queued.map((q) => (
              <li key={q.id} data-testid="queued-report">
                <strong>{q.draft.title}</strong>
                <div className="meta">
                  {t('queue.saved_at', { date: dateTime(q.createdAt) })}
                  {q.photos.length > 0 && <> {t('queue.photos', { count: q.photos.length })}</>}
                </div>
                {q.error && (
                  <p className="field-error">
                    {t('queue.failed', { detail: q.error })}{' '}
                    <button type="button" className="secondary" onClick={() => void removeItem(q.id)}>
                      {t('queue.discard')}
                    </button>
                  </p>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
      {items === null ? (
        <p>{t('app.loading')}</p>
      ) : items.length === 0 ? (
        <p>{t('mine.none')}</p>
      ) : (
        <ul className="incident-list">
          {items.map((item) => (
            <li key={item.id}>
              <Link href={`/incidents/${item.reference}`}>{item.title}</Link>
              <div className="meta">
                <StatusBadge status={item.status} /> {item.reference} · {date(item.createdAt)}
              </div>
            </li>
          ))}
        </ul>
      )}
      <section aria-labelledby="account-heading">
        <h2 id="account-heading">{t('mine.account')}</h2>
        <p>{t('mine.signed_in_as', { name: session.user.displayName, email: session.user.email })}</p>
      </section>
    </div>
  );
}
