import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { useI18n } from '../i18n/I18nProvider';
import { Loading, Section, useLoad } from './ui';

const PAGE = 50;

/** The audit trail, newest first, a page at a time (the server's cursor), with filters. */
export default function AuditAdmin() {
  const { t, dateTime } = useI18n();
  const [filter, setFilter] = useState({ action: '', entityType: '' });
  const [typed, setTyped] = useState(filter);
  // the cursors of the pages seen, so "Newer" can go back
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const page = useLoad(
    () =>
      api.GET('/api/v1/admin/audit', {
        params: {
          query: {
            limit: PAGE,
            ...(cursor ? { cursor } : {}),
            ...(filter.action ? { action: filter.action } : {}),
            ...(filter.entityType ? { entityType: filter.entityType } : {}),
          },
        },
      }),
    [cursor, filter],
  );
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilter({ action: typed.action.trim(), entityType: typed.entityType.trim() });
    setCursors([null]);
  };

  return (
    <>
      <Section title={t('admin.audit.filter')}>
        <form role="search" className="admin-form row" onSubmit={apply}>
          <div>
            <label htmlFor="audit-action">{t('admin.audit.action')}</label>
            <input
              id="audit-action"
              placeholder="role.grant"
              value={typed.action}
              onChange={(e) => setTyped({ ...typed, action: e.currentTarget.value })}
            />
          </div>
          <div>
            <label htmlFor="audit-entity">{t('admin.audit.entity')}</label>
            <input
              id="audit-entity"
              placeholder="user"
              value={typed.entityType}
              onChange={(e) => setTyped({ ...typed, entityType: e.currentTarget.value })}
            />
          </div>
          <button type="submit">{t('admin.audit.apply')}</button>
        </form>
      </Section>
      <Section title={t('admin.audit.records')}>
        <Loading loading={page.loading && !page.data} error={page.error} />
        {page.data?.items.length === 0 && <p>{t('admin.audit.none')}</p>}
        <div className="table-scroll" role="region" aria-label={t('admin.audit.table')} tabIndex={0}>
          <table className="audit">
            <thead>
              <tr>
                <th scope="col">{t('admin.audit.when')}</th>
                <th scope="col">{t('admin.audit.action')}</th>
                <th scope="col">{t('admin.audit.entity')}</th>
                <th scope="col">{t('admin.audit.actor')}</th>
              </tr>
            </thead>
            <tbody>
              {page.data?.items.map((r) => (
                <tr key={r.id}>
                  <td>{dateTime(r.createdAt)}</td>
                  <td>
                    <code>{r.action}</code>
                  </td>
                  <td>
                    {r.entityType} <small className="muted break">{r.entityId}</small>
                  </td>
                  <td>
                    <small className="break">{r.actorId ?? t('admin.audit.system')}</small>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div className="actions">
          <button
            type="button"
            className="secondary"
            disabled={cursors.length === 1}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            {t('admin.audit.newer')}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={!page.data?.nextCursor}
            onClick={() => setCursors([...cursors, page.data!.nextCursor])}
          >
            {t('admin.audit.older')}
          </button>
        </div>
      </Section>
    </>
  );
}
