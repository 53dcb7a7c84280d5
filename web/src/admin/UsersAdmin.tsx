import { useState, useSyncExternalStore, type FormEvent } from 'react';
import { api } from '../api/client';
import { getSession, subscribeSession } from '../auth/session';
import { useI18n } from '../i18n/I18nProvider';
import type { TKey } from '../i18n/i18n';
import type { AdminUser, Community } from './api';
import { ConfirmButton, Loading, Outcome, Section, useAction, useLoad } from './ui';

const PAGE = 25;
type Role = 'moderator' | 'responder' | 'admin';
const ROLES: Role[] = ['moderator', 'responder', 'admin'];

/** Accounts: find one, grant or take away roles (per community, or admin), ban or lift a ban. */
export default function UsersAdmin() {
  const { t, number } = useI18n();
  const [query, setQuery] = useState({ q: '', role: '' as Role | '', offset: 0 });
  const [typed, setTyped] = useState({ q: '', role: '' as Role | '' });
  const list = useLoad(
    () =>
      api.GET('/api/v1/admin/users', {
        params: {
          query: {
            ...(query.q ? { q: query.q } : {}),
            ...(query.role ? { role: query.role } : {}),
            limit: PAGE,
            offset: query.offset,
          },
        },
      }),
    [query],
  );
  const communities = useLoad(() => api.GET('/api/v1/communities'), []);
  const names = new Map((communities.data?.items ?? []).map((c) => [c.id, c.name]));

  const search = (event: FormEvent) => {
    event.preventDefault();
    setQuery({ ...typed, offset: 0 });
  };
  const total = list.data?.total ?? 0;

  return (
    <>
      <Section title={t('admin.users.find')}>
        <form role="search" className="admin-form row" onSubmit={search}>
          <div>
            <label htmlFor="user-q">{t('admin.users.query')}</label>
            <input
              id="user-q"
              type="search"
              value={typed.q}
              onChange={(e) => setTyped({ ...typed, q: e.currentTarget.value })}
            />
          </div>
          <div>
            <label htmlFor="user-role">{t('admin.users.with_role')}</label>
            <select
              id="user-role"
              value={typed.role}
              onChange={(e) => setTyped({ ...typed, role: e.currentTarget.value as Role | '' })}
            >
              <option value="">{t('admin.users.any_role')}</option>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`admin.role.${r}` as TKey)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit">{t('admin.users.search')}</button>
        </form>
      </Section>
      <Section title={t('admin.users.list')}>
        <Loading loading={list.loading && !list.data} error={list.error} />
        {list.data && (
          <p role="status">
            {total === 0
              ? t('admin.users.none')
              : t('admin.users.showing', {
                  from: number(query.offset + 1),
                  to: number(query.offset + list.data.items.length),
                  total: number(total),
                })}
          </p>
        )}
        <ul className="admin-list users">
          {list.data?.items.map((u) => (
            <UserItem
              key={u.id}
              user={u}
              names={names}
              communities={communities.data?.items ?? []}
              onChange={list.reload}
            />
          ))}
        </ul>
        <div className="actions">
          <button
            type="button"
            className="secondary"
            disabled={query.offset === 0}
            onClick={() => setQuery({ ...query, offset: Math.max(0, query.offset - PAGE) })}
          >
            {t('admin.previous')}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={query.offset + PAGE >= total}
            onClick={() => setQuery({ ...query, offset: query.offset + PAGE })}
          >
            {t('admin.next')}
          </button>
        </div>
      </Section>
    </>
  );
}

function UserItem({
  user,
  names,
  communities,
  onChange,
}: {
  user: AdminUser;
  names: Map<string, string>;
  communities: Community[];
  onChange: () => void;
}) {
  const { t, date } = useI18n();
  const session = useSyncExternalStore(subscribeSession, getSession);
  const action = useAction();
  const [role, setRole] = useState<Role>('moderator');
  const [communityId, setCommunityId] = useState('');
  const [reason, setReason] = useState('');
  const self = session?.user.id === user.id;
  const label = user.displayName;
  const roleName = (r: AdminUser['roles'][number]) =>
    r.communityId
      ? t('admin.users.role_in', {
          role: t(`admin.role.${r.role}` as TKey),
          community: names.get(r.communityId) ?? r.communityId,
        })
      : t(`admin.role.${r.role}` as TKey);

  const change = async (kind: 'grant' | 'revoke', grant: { role: Role; communityId: string | null }) => {
    const body = grant.role === 'admin' ? { role: grant.role } : grant;
    const done = await action.run(
      () =>
        kind === 'grant'
          ? api.POST('/api/v1/admin/users/{id}/roles', { params: { path: { id: user.id } }, body })
          : api.POST('/api/v1/admin/users/{id}/roles/revoke', { params: { path: { id: user.id } }, body }),
      t(kind === 'grant' ? 'admin.users.granted' : 'admin.users.revoked'),
    );
    if (done) onChange();
  };
  const grant = (event: FormEvent) => {
    event.preventDefault();
    void change('grant', { role, communityId: role === 'admin' ? null : communityId });
  };
  const ban = async (banned: boolean) => {
    const done = await action.run(
      () =>
        banned
          ? api.POST('/api/v1/admin/users/{id}/ban', {
              params: { path: { id: user.id } },
              body: { reason: reason.trim() },
            })
          : api.POST('/api/v1/admin/users/{id}/unban', {
              params: { path: { id: user.id } },
              body: reason.trim() ? { reason: reason.trim() } : null,
            }),
      t(banned ? 'admin.users.banned_now' : 'admin.users.unbanned_now'),
    );
    if (done) onChange();
  };
  const id = `u-${user.id.slice(0, 8)}`;

  return (
    <li>
      <details>
        <summary>
          <strong>{label}</strong> <span className="muted">{user.email}</span>
          {user.banned && <span className="tag danger">{t('admin.users.banned')}</span>}
          {user.roles.map((r) => (
            <span className="tag" key={`${r.role}:${r.communityId}`}>
              {roleName(r)}
            </span>
          ))}
        </summary>
        <p className="muted">
          {t('admin.users.since', { date: date(user.createdAt) })} · {t(`lang.${user.locale === 'af' ? 'af' : 'en'}`)}
        </p>
        {user.roles.length > 0 && (
          <ul className="plain">
            {user.roles.map((r) => (
              <li key={`${r.role}:${r.communityId}`}>
                {roleName(r)}{' '}
                {!(self && r.role === 'admin') && (
                  <ConfirmButton
                    label={t('admin.users.revoke', { role: roleName(r) })}
                    confirmLabel={t('admin.confirm')}
                    disabled={action.busy}
                    onConfirm={() => void change('revoke', { role: r.role as Role, communityId: r.communityId })}
                  />
                )}
              </li>
            ))}
          </ul>
        )}
        <form className="admin-form row" onSubmit={grant}>
          <div>
            <label htmlFor={`${id}-role`}>{t('admin.users.role')}</label>
            <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`admin.role.${r}` as TKey)}
                </option>
              ))}
            </select>
          </div>
          {role !== 'admin' && (
            <div>
              <label htmlFor={`${id}-community`}>{t('admin.users.community')}</label>
              <select
                id={`${id}-community`}
                required
                value={communityId}
                onChange={(e) => setCommunityId(e.currentTarget.value)}
              >
                <option value="">{t('admin.users.choose_community')}</option>
                {communities.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </div>
          )}
          <button type="submit" disabled={action.busy}>
            {t('admin.users.grant')}
          </button>
        </form>
        {!self && (
          <div className="admin-form">
            <label htmlFor={`${id}-reason`}>{t('admin.users.reason')}</label>
            <input
              id={`${id}-reason`}
              maxLength={500}
              value={reason}
              onChange={(e) => setReason(e.currentTarget.value)}
            />
            {user.banned ? (
              <button type="button" className="secondary" disabled={action.busy} onClick={() => void ban(false)}>
                {t('admin.users.unban')}
              </button>
            ) : (
              <ConfirmButton
                label={t('admin.users.ban')}
                confirmLabel={t('admin.users.ban_confirm')}
                disabled={action.busy || !reason.trim()}
                onConfirm={() => void ban(true)}
              />
            )}
          </div>
        )}
        <Outcome error={action.error} message={action.message} />
      </details>
    </li>
  );
}
