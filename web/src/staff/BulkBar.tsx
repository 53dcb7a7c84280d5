import { useState, type FormEvent } from 'react';
import { api, problemText, STATUSES, type Incident } from '../api/client';
import type { paths } from '../api/schema';
import { useI18n } from '../i18n/I18nProvider';
import type { TKey } from '../i18n/i18n';
import type { Template } from './IncidentPanel';
import { PRIORITIES } from './queue';

type BulkAction = paths['/api/v1/incidents/bulk']['post']['requestBody']['content']['application/json']['action'];
type BulkResult =
  paths['/api/v1/incidents/bulk']['post']['responses'][200]['content']['application/json']['results'][number];

export const BULK_MAX = 500;
const KINDS = ['status', 'priority', 'assign_me', 'unassign', 'hide', 'unhide'] as const;
type Kind = (typeof KINDS)[number];

/** What the form's choices send to POST /incidents/bulk. */
export function bulkAction(kind: Kind, value: string, templateId: string, userId: string): BulkAction {
  switch (kind) {
    case 'status':
      return templateId ? { status: value as never, templateId } : { status: value as never };
    case 'priority':
      return { priority: value as never };
    case 'assign_me':
      return { assigneeId: userId };
    case 'unassign':
      return { assigneeId: null };
    case 'hide':
      return { hidden: true };
    case 'unhide':
      return { hidden: false };
  }
}

interface Props {
  ids: string[];
  references: ReadonlyMap<string, string>;
  templates: readonly Template[];
  userId: string;
  onDone(changed: Incident[]): void;
  onClear(): void;
}

/** One action on the selected incidents (at most 500), with the outcome for each. */
export function BulkBar({ ids, references, templates, userId, onDone, onClear }: Props) {
  const { t } = useI18n();
  const [kind, setKind] = useState<Kind>('status');
  const [status, setStatus] = useState<string>('acknowledged');
  const [priority, setPriority] = useState<string>('high');
  const [templateId, setTemplateId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [results, setResults] = useState<{ applied: number; items: BulkResult[] } | null>(null);
  // several categories at once: only templates for every category fit
  const fitting = templates.filter((tpl) => tpl.status === status && tpl.categoryId === null);
  const tooMany = ids.length > BULK_MAX;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (tooMany) return;
    setBusy(true);
    setError('');
    setResults(null);
    const value = kind === 'status' ? status : priority;
    const { data, error: problem } = await api.POST('/api/v1/incidents/bulk', {
      body: { ids, action: bulkAction(kind, value, kind === 'status' ? templateId : '', userId) },
    });
    setBusy(false);
    if (!data) {
      setError(problemText(problem, t('app.error')));
      return;
    }
    setResults({ applied: data.applied, items: data.results });
    onDone(data.results.flatMap((r) => (r.incident ? [r.incident] : [])));
  };

  return (
    <section className="staff-bulk" aria-labelledby="staff-bulk-heading">
      <h2 id="staff-bulk-heading">{t('staff.bulk.title', { count: ids.length })}</h2>
      <form className="staff-form" onSubmit={(e) => void submit(e)}>
        <label>
          {t('staff.bulk.action')}
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`staff.bulk.${k}`)}
              </option>
            ))}
          </select>
        </label>
        {kind === 'status' && (
          <>
            <label>
              {t('staff.new_status')}
              <select
                value={status}
                onChange={(e) => {
                  setStatus(e.currentTarget.value);
                  setTemplateId('');
                }}
              >
                {STATUSES.filter((s) => s !== 'duplicate').map((s) => (
                  <option key={s} value={s}>
                    {t(`status.${s}`)}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t('staff.template')}
              <select value={templateId} onChange={(e) => setTemplateId(e.currentTarget.value)}>
                <option value="">{t('staff.no_template')}</option>
                {fitting.map((tpl) => (
                  <option key={tpl.id} value={tpl.id}>
                    {tpl.name}
                  </option>
                ))}
              </select>
            </label>
          </>
        )}
        {kind === 'priority' && (
          <label>
            {t('staff.priority')}
            <select value={priority} onChange={(e) => setPriority(e.currentTarget.value)}>
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {t(`staff.priority.${p}`)}
                </option>
              ))}
            </select>
          </label>
        )}
        {tooMany && <p role="alert">{t('staff.bulk.too_many', { max: BULK_MAX })}</p>}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || tooMany}>
            {t('staff.bulk.apply', { count: ids.length })}
          </button>
          <button type="button" className="secondary" onClick={onClear}>
            {t('staff.bulk.clear')}
          </button>
        </div>
      </form>
      <div role="status" aria-live="polite">
        {error && <p className="staff-message error">{error}</p>}
        {results && (
          <p className="staff-message ok">
            {t('staff.bulk.applied', { applied: results.applied, count: results.items.length })}
          </p>
        )}
      </div>
      {results && (
        <ul className="staff-bulk-results" aria-label={t('staff.bulk.results')}>
          {results.items.map((r) => (
            <li key={r.id} className={r.ok ? 'ok' : 'error'}>
              <span>{references.get(r.id) ?? r.incident?.reference ?? r.id}</span>:{' '}
              {r.ok ? t('staff.bulk.item_ok') : (r.error ?? t(`staff.bulk.item_failed` as TKey))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
