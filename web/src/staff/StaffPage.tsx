import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore, type KeyboardEvent } from 'react';
import { api, STATUSES, type Category, type Incident } from '../api/client';
import { getSession, subscribeSession } from '../auth/session';
import { useI18n } from '../i18n/I18nProvider';
import type { TKey } from '../i18n/i18n';
import { live } from '../realtime/live';
import { Link } from '../router';
import { StatusBadge } from '../StatusBadge';
import { BulkBar } from './BulkBar';
import { IncidentPanel, type Template } from './IncidentPanel';
import {
  age,
  DEFAULT_FILTERS,
  isOverdue,
  listQuery,
  matchesFilters,
  mergeQueue,
  nextRow,
  OVERDUES,
  PRIORITIES,
  SORTS,
  sortQueue,
  type Filters,
} from './queue';
import './staff.css';

interface CommunityRef {
  id: string;
  name: string;
}

type Load = { state: 'loading' } | { state: 'ready' } | { state: 'error'; message: string };

/**
 * The staff console (/staff): the queue of the incidents of the communities the signed-in
 * moderator or responder works (every community for admins), filtered and sorted, with one
 * incident open beside it to move, assign, note or hide, and several selected for bulk actions.
 * New reports arrive over the WebSocket (`community:<id>` channels).
 */
export default function StaffPage() {
  const { t } = useI18n();
  const session = useSyncExternalStore(subscribeSession, getSession);
  const roles = session?.user.roles ?? [];
  const isAdmin = roles.some((r) => r.role === 'admin');
  const staffOf = [...new Set(roles.flatMap((r) => (r.role !== 'admin' && r.communityId ? [r.communityId] : [])))];

  if (!session || (!isAdmin && staffOf.length === 0)) {
    return (
      <div className="page narrow">
        <h1>{t('staff.title')}</h1>
        <p>{session ? t('staff.not_staff') : t('staff.sign_in_first')}</p>
        {!session && <Link href="/signin?next=/staff">{t('nav.signin')}</Link>}
      </div>
    );
  }
  return <Console userId={session.user.id} isAdmin={isAdmin} staffOf={staffOf} />;
}

function Console({ userId, isAdmin, staffOf }: { userId: string; isAdmin: boolean; staffOf: string[] }) {
  const { t, lang } = useI18n();
  const [filters, setFilters] = useState<Filters>(DEFAULT_FILTERS);
  const [communities, setCommunities] = useState<CommunityRef[]>([]);
  const [categories, setCategories] = useState<Category[]>([]);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [items, setItems] = useState<Incident[]>([]);
  const [cursors, setCursors] = useState<Record<string, string>>({});
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [openId, setOpenId] = useState<string | null>(null);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const [announcement, setAnnouncement] = useState('');
  const rows = useRef<Array<HTMLButtonElement | null>>([]);
  const staffKey = staffOf.join(',');

  // the communities in view: the one chosen, or every one the staff member works
  const scopeIds = useMemo<Array<string | null>>(() => {
    if (filters.community) return [filters.community];
    return isAdmin ? [null] : staffKey.split(',');
  }, [filters.community, isAdmin, staffKey]);
  const scopeSet = useMemo(() => (isAdmin ? null : new Set(staffKey.split(','))), [isAdmin, staffKey]);

  useEffect(() => {
    void api.GET('/api/v1/communities').then(({ data }) => {
      const all = (data?.items ?? []).map((c) => ({ id: c.id, name: c.name }));
      setCommunities(isAdmin ? all : all.filter((c) => staffKey.split(',').includes(c.id)));
    });
  }, [isAdmin, staffKey]);

  useEffect(() => {
    void api
      .GET('/api/v1/categories', { params: { query: { lang } } })
      .then(({ data }) => setCategories(data?.items ?? []));
    void api
      .GET('/api/v1/admin/templates', { params: { query: { lang } } })
      .then(({ data }) => setTemplates(data?.items ?? []));
  }, [lang]);

  const fetchPage = useCallback(
    async (communityId: string | null, cursor?: string) => {
      const { data, error } = await api.GET('/api/v1/incidents', {
        params: { query: { ...listQuery(filters, communityId, cursor), lang } },
      });
      if (error || !data) throw new Error(String((error as { detail?: string } | undefined)?.detail ?? ''));
      return { key: communityId ?? '', items: data.items, nextCursor: data.nextCursor };
    },
    [filters, lang],
  );

  const reload = useCallback(async () => {
    setLoad({ state: 'loading' });
    try {
      const pages = await Promise.all(scopeIds.map((id) => fetchPage(id)));
      setItems(
        mergeQueue(
          pages.map((p) => p.items),
          filters.sort,
        ),
      );
      setCursors(Object.fromEntries(pages.flatMap((p) => (p.nextCursor ? [[p.key, p.nextCursor]] : []))));
      setSelected(new Set());
      setLoad({ state: 'ready' });
    } catch (e) {
      setLoad({ state: 'error', message: (e as Error).message || t('app.error') });
    }
  }, [scopeIds, fetchPage, filters.sort, t]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const loadMore = async () => {
    try {
      const pages = await Promise.all(Object.entries(cursors).map(([key, cursor]) => fetchPage(key || null, cursor)));
      setItems((current) => mergeQueue([current, ...pages.map((p) => p.items)], filters.sort));
      setCursors(Object.fromEntries(pages.flatMap((p) => (p.nextCursor ? [[p.key, p.nextCursor]] : []))));
    } catch {
      setAnnouncement(t('app.error'));
    }
  };

  // live: a new report goes to the top of the queue (when it fits the filters), a change updates its row
  const liveState = useRef({ filters, scopeSet, userId, openId, reload });
  liveState.current = { filters, scopeSet, userId, openId, reload };
  const [panelTick, setPanelTick] = useState(0);
  const channelKey = (isAdmin ? communities.map((c) => c.id) : staffKey.split(',')).join(',');
  useEffect(() => {
    if (!channelKey) return;
    const stops = channelKey.split(',').map((id) =>
      live.subscribe(`community:${id}`, (event) => {
        const now = liveState.current;
        if (event.type === 'resync') {
          void now.reload();
          return;
        }
        const incident = event.incident;
        if (!incident) return;
        if (event.type === 'incident.created') {
          setAnnouncement(t('staff.live_new', { title: incident.title }));
          if (!matchesFilters(incident, now.filters, now.scopeSet, now.userId)) return;
          setFresh((f) => new Set(f).add(incident.id));
          setItems((current) =>
            current.some((i) => i.id === incident.id) ? current : sortQueue([incident, ...current], now.filters.sort),
          );
          return;
        }
        setItems((current) => current.map((i) => (i.id === incident.id ? { ...i, ...incident } : i)));
        if (now.openId === incident.id) setPanelTick((n) => n + 1);
      }),
    );
    return () => stops.forEach((stop) => stop());
  }, [channelKey, t]);

  const set = <K extends keyof Filters>(key: K, value: Filters[K]) => setFilters((f) => ({ ...f, [key]: value }));

  const open = (id: string) => {
    setOpenId(id);
    setFresh((f) => {
      const next = new Set(f);
      next.delete(id);
      return next;
    });
  };

  const onQueueKey = (event: KeyboardEvent<HTMLOListElement>) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    // the row holding focus: its open button or its checkbox
    const current = rows.current.findIndex((el) => el?.parentElement?.contains(document.activeElement));
    if (event.key === 'x' && current >= 0) {
      event.preventDefault();
      toggle(items[current]!.id);
      return;
    }
    const next = nextRow(event.key, current, items.length);
    if (next === null) return;
    event.preventDefault();
    rows.current[next]?.focus();
  };

  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const allSelected = items.length > 0 && items.every((i) => selected.has(i.id));

  const onChanged = (incident: Incident) => {
    setItems((current) => current.map((i) => (i.id === incident.id ? incident : i)));
  };
  const onBulkDone = (changed: Incident[]) => {
    const byId = new Map(changed.map((i) => [i.id, i]));
    setItems((current) => current.map((i) => byId.get(i.id) ?? i));
    if (openId && byId.has(openId)) setPanelTick((n) => n + 1);
  };

  const communityName = (id: string | null) => communities.find((c) => c.id === id)?.name ?? '';
  const openIncident = items.find((i) => i.id === openId) ?? null;

  return (
    <div className="page staff">
      <h1>{t('staff.title')}</h1>
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>

      <details className="staff-filters" open>
        <summary>{t('staff.filters')}</summary>
        <form className="staff-filter-grid" onSubmit={(e) => e.preventDefault()}>
          <label>
            {t('staff.filter.community')}
            <select value={filters.community} onChange={(e) => set('community', e.currentTarget.value)}>
              <option value="">{t(isAdmin ? 'staff.filter.all_communities' : 'staff.filter.my_communities')}</option>
              {communities.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('incident.status')}
            <select value={filters.status} onChange={(e) => set('status', e.currentTarget.value)}>
              <option value="open">{t('staff.filter.open')}</option>
              <option value="">{t('staff.filter.any')}</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`status.${s}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('staff.priority')}
            <select value={filters.priority} onChange={(e) => set('priority', e.currentTarget.value)}>
              <option value="">{t('staff.filter.any')}</option>
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {t(`staff.priority.${p}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('incident.category')}
            <select value={filters.category} onChange={(e) => set('category', e.currentTarget.value)}>
              <option value="">{t('staff.filter.any')}</option>
              {categories.map((c) => (
                <option key={c.id} value={c.slug}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('staff.filter.assignee')}
            <select
              value={filters.assignee}
              onChange={(e) => set('assignee', e.currentTarget.value as Filters['assignee'])}
            >
              <option value="">{t('staff.filter.anyone')}</option>
              <option value="me">{t('staff.filter.mine')}</option>
            </select>
          </label>
          <label>
            {t('staff.filter.overdue')}
            <select
              value={filters.overdue}
              onChange={(e) => set('overdue', e.currentTarget.value as Filters['overdue'])}
            >
              {OVERDUES.map((o) => (
                <option key={o} value={o}>
                  {t(`staff.overdue.${o || 'any'}` as TKey)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('staff.sort')}
            <select value={filters.sort} onChange={(e) => set('sort', e.currentTarget.value as Filters['sort'])}>
              {SORTS.map((s) => (
                <option key={s} value={s}>
                  {t(`staff.sort.${s.replace('-', 'desc_')}` as TKey)}
                </option>
              ))}
            </select>
          </label>
        </form>
      </details>

      <div className="staff-layout">
        <section className="staff-queue" aria-labelledby="staff-queue-heading">
          <h2 id="staff-queue-heading">{t('staff.queue', { count: items.length })}</h2>
          <p className="muted" id="staff-keys">
            {t('staff.keys')}
          </p>
          {load.state === 'loading' && <p>{t('app.loading')}</p>}
          {load.state === 'error' && (
            <p role="alert">
              {load.message}{' '}
              <button type="button" onClick={() => void reload()}>
                {t('app.retry')}
              </button>
            </p>
          )}
          {load.state === 'ready' && items.length === 0 && <p>{t('staff.empty')}</p>}
          {items.length > 0 && (
            <>
              <label className="check">
                <input
                  type="checkbox"
                  checked={allSelected}
                  onChange={() => setSelected(allSelected ? new Set() : new Set(items.slice(0, 500).map((i) => i.id)))}
                />
                {t('staff.select_all')}
              </label>
              <ol className="staff-rows" aria-describedby="staff-keys" onKeyDown={onQueueKey}>
                {items.map((incident, index) => (
                  <li
                    key={incident.id}
                    className={[incident.id === openId ? 'open' : '', isOverdue(incident) ? 'late' : ''].join(' ')}
                  >
                    <input
                      type="checkbox"
                      aria-label={t('staff.select', { reference: incident.reference })}
                      checked={selected.has(incident.id)}
                      onChange={() => toggle(incident.id)}
                    />
                    <button
                      type="button"
                      className="staff-row"
                      ref={(el) => {
                        rows.current[index] = el;
                      }}
                      aria-current={incident.id === openId ? 'true' : undefined}
                      onClick={() => open(incident.id)}
                    >
                      <span className="staff-row-title">{incident.title}</span>
                      <span className="staff-row-meta">
                        <StatusBadge status={incident.status} />
                        <span className={`prio prio-${incident.priority}`}>
                          {t(`staff.priority.${incident.priority}` as TKey)}
                        </span>
                        {incident.sla?.overdue.acknowledge && (
                          <span className="tag late">{t('staff.late_acknowledge')}</span>
                        )}
                        {incident.sla?.overdue.resolve && <span className="tag late">{t('staff.late_resolve')}</span>}
                        {incident.hidden && <span className="tag">{t('staff.hidden')}</span>}
                        {fresh.has(incident.id) && <span className="tag new">{t('staff.new')}</span>}
                        <span>{incident.reference}</span>
                        <span>{age(lang, incident.createdAt)}</span>
                        {!filters.community && communityName(incident.communityId) && (
                          <span>{communityName(incident.communityId)}</span>
                        )}
                        <span>
                          {incident.assignee
                            ? t('staff.assigned_to', { name: incident.assignee.displayName })
                            : t('staff.unassigned')}
                        </span>
                      </span>
                    </button>
                  </li>
                ))}
              </ol>
              {Object.keys(cursors).length > 0 && (
                <button type="button" className="secondary" onClick={() => void loadMore()}>
                  {t('staff.more')}
                </button>
              )}
            </>
          )}
        </section>

        <div className="staff-side">
          {selected.size > 0 && (
            <BulkBar
              ids={items.filter((i) => selected.has(i.id)).map((i) => i.id)}
              references={new Map(items.map((i) => [i.id, i.reference]))}
              templates={templates}
              userId={userId}
              onDone={onBulkDone}
              onClear={() => setSelected(new Set())}
            />
          )}
          {openId && (
            <IncidentPanel
              key={openId}
              id={openId}
              tick={panelTick}
              initial={openIncident}
              userId={userId}
              templates={templates}
              onChanged={onChanged}
              onClose={() => {
                const index = items.findIndex((i) => i.id === openId);
                setOpenId(null);
                rows.current[Math.max(index, 0)]?.focus();
              }}
            />
          )}
        </div>
      </div>
    </div>
  );
}
