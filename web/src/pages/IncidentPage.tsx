import { useCallback, useEffect, useState, useSyncExternalStore, type FormEvent } from 'react';
import { api, problemText, type Incident, type Media, type TimelineEvent } from '../api/client';
import { getSession, subscribeSession } from '../auth/session';
import { flashFor } from '../flash';
import { useI18n } from '../i18n/I18nProvider';
import { live } from '../realtime/live';
import { Link } from '../router';
import { EventText } from '../EventText';
import { StatusBadge } from '../StatusBadge';

type Load = { state: 'loading' } | { state: 'missing' } | { state: 'ready'; incident: Incident };

export default function IncidentPage({ reference }: { reference: string }) {
  const { t, lang, dateTime } = useI18n();
  const session = useSyncExternalStore(subscribeSession, getSession);
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [timeline, setTimeline] = useState<TimelineEvent[]>([]);
  const [media, setMedia] = useState<Media[]>([]);
  const [flash] = useState(() => flashFor(`/incidents/${reference}`));
  const [liveNote, setLiveNote] = useState('');
  const [following, setFollowing] = useState(false);
  const [confirmed, setConfirmed] = useState(false);
  const [actionError, setActionError] = useState('');

  const refresh = useCallback(async () => {
    const path = { idOrReference: reference };
    const [incident, events, files] = await Promise.all([
      api.GET('/api/v1/incidents/{idOrReference}', { params: { path, query: { lang } } }),
      api.GET('/api/v1/incidents/{idOrReference}/timeline', { params: { path, query: { lang } } }),
      api.GET('/api/v1/incidents/{idOrReference}/media', { params: { path } }),
    ]);
    if (!incident.data) {
      setLoad({ state: 'missing' });
      return;
    }
    setLoad({ state: 'ready', incident: incident.data });
    setTimeline(events.data?.items ?? []);
    setMedia(files.data?.items ?? []);
  }, [reference, lang]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const incidentId = load.state === 'ready' ? load.incident.id : null;
  useEffect(() => {
    if (!incidentId) return;
    return live.subscribe(`incident:${incidentId}`, (event) => {
      if (event.type === 'resync' || event.type.startsWith('incident.')) {
        // the event says what changed; the page reloads its parts so every field stays as the API shows it
        void refresh().then(() => setLiveNote(t('incident.live')));
      }
    });
  }, [incidentId, refresh, t]);

  if (load.state === 'loading') return <p className="page">{t('app.loading')}</p>;
  if (load.state === 'missing') {
    return (
      <div className="page narrow">
        <h1>{reference}</h1>
        <p>{t('incident.not_found')}</p>
        <Link href="/">{t('app.back_to_map')}</Link>
      </div>
    );
  }
  const incident = load.incident;
  const [lon, lat] = incident.location.coordinates as [number, number];

  const act = async (run: () => Promise<{ error?: unknown; response: Response }>, onOk: () => void) => {
    setActionError('');
    const { error, response } = await run();
    if (response.ok) onOk();
    else setActionError(problemText(error, t('app.error')));
  };
  const path = { params: { path: { idOrReference: incident.id } } };

  return (
    <article className="page narrow incident">
      {flash && (
        <p className="notice" role="status">
          {flash}
        </p>
      )}
      <h1>{incident.title}</h1>
      <p className="meta">
        <StatusBadge status={incident.status} /> {incident.category.name} ·{' '}
        <span>
          {t('incident.reference')}: <strong>{incident.reference}</strong>
        </span>
      </p>
      <p className="muted">
        {t('incident.reported_at', { date: dateTime(incident.createdAt) })}{' '}
        {incident.reporter
          ? t('incident.reported_by', { name: incident.reporter.displayName })
          : t('incident.anonymous')}
      </p>
      {incident.duplicateOf && (
        <p>
          <Link href={`/incidents/${incident.duplicateOf.reference}`}>
            {t('incident.duplicate_of', { reference: incident.duplicateOf.reference })}
          </Link>
        </p>
      )}
      {incident.description && <p className="description">{incident.description}</p>}
      <p className="muted">
        {incident.address ? `${t('incident.address')}: ${incident.address}` : `${lat.toFixed(5)}, ${lon.toFixed(5)}`}
        {incident.locationBlurred && <> · {t('incident.location_blurred')}</>}
      </p>

      {media.filter((m) => m.kind === 'image').length > 0 && (
        <section aria-labelledby="photos-heading">
          <h2 id="photos-heading">{t('incident.photos')}</h2>
          <ul className="photos">
            {media
              .filter((m) => m.kind === 'image')
              .map((m, i) => (
                <li key={m.id}>
                  <a href={m.fallbackUrl ?? m.url}>
                    <img
                      src={m.thumbnailFallbackUrl ?? m.thumbnailUrl ?? m.url}
                      alt={t('incident.photo_alt', { n: i + 1, title: incident.title })}
                      loading="lazy"
                      width={160}
                      height={120}
                    />
                  </a>
                </li>
              ))}
          </ul>
        </section>
      )}

      <p>{t('incident.confirmations', { count: incident.confirmations })}</p>
      {session ? (
        <div className="row actions">
          <button
            type="button"
            disabled={confirmed}
            onClick={() =>
              void act(
                () => api.POST('/api/v1/incidents/{idOrReference}/confirmations', path),
                () => setConfirmed(true),
              )
            }
          >
            {confirmed ? t('incident.me_too_done') : t('incident.me_too')}
          </button>
          <button
            type="button"
            className="secondary"
            aria-pressed={following}
            onClick={() =>
              void act(
                () =>
                  following
                    ? api.DELETE('/api/v1/incidents/{idOrReference}/follow', path)
                    : api.PUT('/api/v1/incidents/{idOrReference}/follow', path),
                () => setFollowing(!following),
              )
            }
          >
            {following ? t('incident.unfollow') : t('incident.follow')}
          </button>
        </div>
      ) : (
        <p>
          <Link href={`/signin?next=/incidents/${incident.reference}`}>{t('incident.signin_to_act')}</Link>
        </p>
      )}
      {following && <p className="muted">{t('incident.following')}</p>}
      {actionError && <p role="alert">{actionError}</p>}

      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">{t('incident.timeline')}</h2>
        <ol className="timeline">
          {timeline.map((event) => (
            <li key={event.id}>
              <time dateTime={event.createdAt}>{dateTime(event.createdAt)}</time> <EventText event={event} />
            </li>
          ))}
        </ol>
      </section>

      {session && <CommentForm incidentId={incident.id} onPosted={() => void refresh()} />}
      <p className="visually-hidden" aria-live="polite">
        {liveNote}
      </p>
    </article>
  );
}

function CommentForm({ incidentId, onPosted }: { incidentId: string; onPosted: () => void }) {
  const { t } = useI18n();
  const [body, setBody] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!body.trim()) return;
    setBusy(true);
    const { error: problem, response } = await api.POST('/api/v1/incidents/{idOrReference}/comments', {
      params: { path: { idOrReference: incidentId }, header: { 'idempotency-key': crypto.randomUUID() } },
      body: { body: body.trim() },
    });
    setBusy(false);
    if (response.ok) {
      setBody('');
      setError('');
      onPosted();
    } else setError(problemText(problem, t('app.error')));
  };
  return (
    <form onSubmit={submit} className="comment-form">
      <label htmlFor="comment">{t('incident.comment_label')}</label>
      <textarea id="comment" rows={3} value={body} maxLength={5000} onChange={(e) => setBody(e.currentTarget.value)} />
      <button type="submit" disabled={busy}>
        {t('incident.comment_send')}
      </button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}
