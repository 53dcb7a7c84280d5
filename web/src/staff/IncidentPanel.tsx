import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, problemText, STATUSES, type Incident, type TimelineEvent } from '../api/client';
import type { paths } from '../api/schema';
import { useI18n } from '../i18n/I18nProvider';
import type { TKey } from '../i18n/i18n';
import { Link } from '../router';
import { EventText } from '../EventText';
import { StatusBadge } from '../StatusBadge';
import { PRIORITIES } from './queue';

export type Template =
  paths['/api/v1/admin/templates']['get']['responses'][200]['content']['application/json']['items'][number];
type StaffMember =
  paths['/api/v1/communities/{id}/staff']['get']['responses'][200]['content']['application/json']['items'][number];

/** Templates that fit a move to `status` for this incident's category. */
export function templatesFor(templates: readonly Template[], status: string, categoryId: string | null): Template[] {
  return templates.filter((tpl) => tpl.status === status && (tpl.categoryId === null || tpl.categoryId === categoryId));
}

interface Props {
  id: string;
  /** bumped when a live event says the incident changed */
  tick: number;
  initial: Incident | null;
  userId: string;
  templates: readonly Template[];
  onChanged(incident: Incident): void;
  onClose(): void;
}

const WORKFLOW: readonly string[] = ['reported', 'acknowledged', 'in_progress', 'resolved', 'closed'];

/** What happened, kept as a key so it follows a change of language; a server's error as its own words. */
type Said = { key: TKey; status?: string };
type Message = { kind: 'ok' | 'error'; said?: Said; text?: string } | null;

/** One incident in the console: move its status (with a template), assign it, set priority, hide it, add internal notes. */
export function IncidentPanel({ id, tick, initial, userId, templates, onChanged, onClose }: Props) {
  const { t, lang, dateTime } = useI18n();
  const [incident, setIncident] = useState<Incident | null>(initial);
  const [timeline, setTimeline] = useState<TimelineEvent[]>([]);
  const [staff, setStaff] = useState<StaffMember[]>([]);
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const changed = useRef(onChanged);
  changed.current = onChanged;

  const refresh = useCallback(async () => {
    const path = { idOrReference: id };
    const [one, events] = await Promise.all([
      api.GET('/api/v1/incidents/{idOrReference}', { params: { path, query: { lang } } }),
      api.GET('/api/v1/incidents/{idOrReference}/timeline', { params: { path, query: { lang } } }),
    ]);
    if (one.data) {
      setIncident(one.data);
      // the parent's callback is new on every render: read it through a ref, not as a dependency
      changed.current(one.data);
    }
    setTimeline(events.data?.items ?? []);
  }, [id, lang]);

  useEffect(() => {
    void refresh();
  }, [refresh, tick]);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  const communityId = incident?.communityId ?? null;
  useEffect(() => {
    if (!communityId) return;
    void api
      .GET('/api/v1/communities/{id}/staff', { params: { path: { id: communityId } } })
      .then(({ data }) => setStaff(data?.items ?? []));
  }, [communityId]);

  if (!incident) {
    return (
      <section className="staff-panel" aria-label={t('staff.panel')}>
        <p>{t('app.loading')}</p>
      </section>
    );
  }

  /** PATCH based on the version shown: a change by someone else meanwhile answers 412. */
  const patch = async (body: Record<string, unknown>, done: Said) => {
    setBusy(true);
    setMessage(null);
    const { data, error, response } = await api.PATCH('/api/v1/incidents/{idOrReference}', {
      params: { path: { idOrReference: incident.id }, header: { 'if-match': `W/"${incident.version}"` } },
      body: body as never,
    });
    setBusy(false);
    if (data) {
      setIncident(data);
      onChanged(data);
      setMessage({ kind: 'ok', said: done });
      void refresh();
      return true;
    }
    if (response.status === 412) {
      setMessage({ kind: 'error', said: { key: 'staff.conflict' } });
      void refresh();
      return false;
    }
    setMessage({ kind: 'error', text: problemText(error, t('app.error')) });
    return false;
  };

  const post = async (call: () => Promise<{ data?: unknown; error?: unknown }>, done: Said): Promise<boolean> => {
    setBusy(true);
    setMessage(null);
    const { data, error } = await call();
    setBusy(false);
    if (error !== undefined || data === undefined) {
      setMessage({ kind: 'error', text: problemText(error, t('app.error')) });
      return false;
    }
    setMessage({ kind: 'ok', said: done });
    await refresh();
    return true;
  };

  const path = { idOrReference: incident.id };
  const headingId = `staff-panel-${incident.id}`;

  return (
    <section className="staff-panel" aria-labelledby={headingId}>
      <div className="staff-panel-head">
        <h2 id={headingId} ref={heading} tabIndex={-1}>
          {incident.title}
        </h2>
        <button type="button" className="secondary" onClick={onClose}>
          {t('staff.close')}
        </button>
      </div>
      <p className="meta">
        <StatusBadge status={incident.status} /> <span>{incident.reference}</span> <span>{incident.category.name}</span>{' '}
        <span>{t('incident.reported_at', { date: dateTime(incident.createdAt) })}</span>
      </p>
      {incident.sla && (
        <p className="meta">
          {incident.sla.acknowledgeDueAt && (
            <span className={incident.sla.overdue.acknowledge ? 'late' : undefined}>
              {t('staff.due_acknowledge', { date: dateTime(incident.sla.acknowledgeDueAt) })}
            </span>
          )}{' '}
          {incident.sla.resolveDueAt && (
            <span className={incident.sla.overdue.resolve ? 'late' : undefined}>
              {t('staff.due_resolve', { date: dateTime(incident.sla.resolveDueAt) })}
            </span>
          )}
        </p>
      )}
      <p className="description">{incident.description}</p>
      <p>
        <Link href={`/incidents/${incident.reference}`}>{t('staff.public_page')}</Link>
      </p>

      <div role="status" aria-live="polite" className={message ? `staff-message ${message.kind}` : undefined}>
        {message &&
          (message.said
            ? t(message.said.key, message.said.status ? { status: t(`status.${message.said.status}` as TKey) } : {})
            : message.text)}
      </div>

      <StatusForm
        incident={incident}
        templates={templates}
        busy={busy}
        onMove={(status, templateId) =>
          patch(templateId ? { status, templateId } : { status }, { key: 'staff.moved', status })
        }
      />

      <form
        className="staff-form"
        onSubmit={(e) => {
          e.preventDefault();
          const value = new FormData(e.currentTarget).get('assignee') as string;
          void patch({ assigneeId: value || null }, { key: value ? 'staff.assigned_done' : 'staff.unassigned_done' });
        }}
      >
        <label>
          {t('staff.assignee')}
          <select name="assignee" defaultValue={incident.assignee?.id ?? ''} key={incident.assignee?.id ?? ''}>
            <option value="">{t('staff.unassigned')}</option>
            <option value={userId}>{t('staff.me')}</option>
            {staff
              .filter((s) => s.id !== userId)
              .map((s) => (
                <option key={s.id} value={s.id}>
                  {s.displayName} ({s.roles.map((r) => t(`staff.role.${r}`)).join(', ')})
                </option>
              ))}
            {incident.assignee &&
              incident.assignee.id !== userId &&
              !staff.some((s) => s.id === incident.assignee!.id) && (
                <option value={incident.assignee.id}>{incident.assignee.displayName}</option>
              )}
          </select>
        </label>
        <button type="submit" disabled={busy}>
          {t('staff.assign')}
        </button>
      </form>

      <form
        className="staff-form"
        onSubmit={(e) => {
          e.preventDefault();
          const value = new FormData(e.currentTarget).get('priority') as string;
          void patch({ priority: value }, { key: 'staff.priority_done' });
        }}
      >
        <label>
          {t('staff.priority')}
          <select name="priority" defaultValue={incident.priority} key={incident.priority}>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {t(`staff.priority.${p}`)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy}>
          {t('staff.set_priority')}
        </button>
      </form>

      <HideForm
        hidden={Boolean(incident.hidden)}
        busy={busy}
        onHide={(reason) =>
          post(() => api.POST('/api/v1/incidents/{idOrReference}/hide', { params: { path }, body: { reason } }), {
            key: 'staff.hidden_done',
          })
        }
        onUnhide={() =>
          post(() => api.POST('/api/v1/incidents/{idOrReference}/unhide', { params: { path }, body: {} }), {
            key: 'staff.unhidden_done',
          })
        }
      />

      <NoteForm
        busy={busy}
        onNote={(body) =>
          post(
            () =>
              api.POST('/api/v1/incidents/{idOrReference}/comments', {
                params: { path },
                body: { body, internal: true },
              }),
            { key: 'staff.note_done' },
          )
        }
      />

      <h3>{t('incident.timeline')}</h3>
      <ol className="timeline">
        {timeline.map((event) => (
          <li key={event.id} className={event.internal ? 'internal' : undefined}>
            <time dateTime={event.createdAt}>{dateTime(event.createdAt)}</time> <EventText event={event} staff />
          </li>
        ))}
      </ol>
    </section>
  );
}

function StatusForm({
  incident,
  templates,
  busy,
  onMove,
}: {
  incident: Incident;
  templates: readonly Template[];
  busy: boolean;
  onMove(status: string, templateId: string | null): Promise<boolean>;
}) {
  const { t, lang } = useI18n();
  const choices = STATUSES.filter((s) => s !== incident.status && s !== 'duplicate');
  // the next step of the workflow first: reported → acknowledged → in progress → resolved → closed
  const next = (): string => {
    const step = WORKFLOW.indexOf(incident.status);
    return (step >= 0 ? WORKFLOW[step + 1] : undefined) ?? choices[0] ?? '';
  };
  const [status, setStatus] = useState<string>(next);
  const [templateId, setTemplateId] = useState('');
  const fitting = templatesFor(templates, status, incident.category.id);
  const chosen = fitting.find((tpl) => tpl.id === templateId) ?? null;

  useEffect(() => {
    setStatus(next());
    setTemplateId('');
    // the choices are derived from the status, the only input
  }, [incident.status]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await onMove(status, chosen?.id ?? null)) setTemplateId('');
  };

  return (
    <form className="staff-form staff-status" onSubmit={(e) => void submit(e)}>
      <fieldset>
        <legend>{t('staff.move')}</legend>
        <label>
          {t('staff.new_status')}
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.currentTarget.value);
              setTemplateId('');
            }}
          >
            {choices.map((s) => (
              <option key={s} value={s}>
                {t(`status.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('staff.template')}
          <select value={chosen?.id ?? ''} onChange={(e) => setTemplateId(e.currentTarget.value)}>
            <option value="">{t('staff.no_template')}</option>
            {fitting.map((tpl) => (
              <option key={tpl.id} value={tpl.id}>
                {tpl.name}
              </option>
            ))}
          </select>
        </label>
        {chosen && (
          <p className="staff-template-preview">
            <span className="muted">{t('staff.template_preview')}</span> {chosen.text[lang]}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !status}>
          {t('staff.move_button')}
        </button>
      </fieldset>
    </form>
  );
}

function HideForm({
  hidden,
  busy,
  onHide,
  onUnhide,
}: {
  hidden: boolean;
  busy: boolean;
  onHide(reason: string): Promise<boolean>;
  onUnhide(): Promise<boolean>;
}) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  if (hidden) {
    return (
      <div className="staff-form">
        <p>{t('staff.is_hidden')}</p>
        <button type="button" disabled={busy} onClick={() => void onUnhide()}>
          {t('staff.unhide')}
        </button>
      </div>
    );
  }
  return (
    <form
      className="staff-form"
      onSubmit={(e) => {
        e.preventDefault();
        void onHide(reason.trim()).then((ok) => ok && setReason(''));
      }}
    >
      <label>
        {t('staff.hide_reason')}
        <input
          value={reason}
          minLength={3}
          maxLength={500}
          required
          onChange={(e) => setReason(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={busy}>
        {t('staff.hide')}
      </button>
    </form>
  );
}

function NoteForm({ busy, onNote }: { busy: boolean; onNote(body: string): Promise<boolean> }) {
  const { t } = useI18n();
  const [body, setBody] = useState('');
  return (
    <form
      className="staff-form staff-note"
      onSubmit={(e) => {
        e.preventDefault();
        if (!body.trim()) return;
        void onNote(body).then((ok) => ok && setBody(''));
      }}
    >
      <label>
        {t('staff.note')}
        <textarea value={body} rows={3} maxLength={5000} required onChange={(e) => setBody(e.currentTarget.value)} />
      </label>
      <p className="muted">{t('staff.note_hint')}</p>
      <button type="submit" disabled={busy}>
        {t('staff.note_add')}
      </button>
    </form>
  );
}
