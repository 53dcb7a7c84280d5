import type { Queryable } from '../../platform/db/database.js';
import type { RoleGrant } from '../identity/actor.js';

export interface UserRow {
  id: string;
  email: string | null;
  display_name: string;
  locale: 'en' | 'af';
  password_hash: string | null;
  token_epoch: number;
  banned_at: Date | null;
  created_at: Date;
}

const USER = 'id, email, display_name, locale, password_hash, token_epoch, banned_at, created_at';

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>({
    name: 'users.byEmail',
    text: `SELECT ${USER} FROM users WHERE lower(email) = $1`,
    values: [email],
  });
  return rows[0] ?? null;
}

export async function findUserById(db: Queryable, id: string, forUpdate = false): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>({
    name: forUpdate ? 'users.byId.lock' : 'users.byId',
    text: `SELECT ${USER} FROM users WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    values: [id],
  });
  return rows[0] ?? null;
}

/** Null when the email is taken. */
export async function insertUser(
  tx: Queryable,
  user: { email: string; displayName: string; locale: 'en' | 'af'; passwordHash: string },
): Promise<UserRow | null> {
  const { rows } = await tx.query<UserRow>({
    text: `INSERT INTO users (email, display_name, locale, password_hash)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING
           RETURNING ${USER}`,
    values: [user.email, user.displayName, user.locale, user.passwordHash],
  });
  return rows[0] ?? null;
}

export async function setPassword(tx: Queryable, userId: string, passwordHash: string): Promise<void> {
  await tx.query({
    text: 'UPDATE users SET password_hash = $2, token_epoch = token_epoch + 1, updated_at = now() WHERE id = $1',
    values: [userId, passwordHash],
  });
}

/** Ends every access token of the user (they carry the old epoch). */
export async function bumpTokenEpoch(tx: Queryable, userId: string): Promise<void> {
  await tx.query({
    name: 'users.bumpEpoch',
    text: 'UPDATE users SET token_epoch = token_epoch + 1 WHERE id = $1',
    values: [userId],
  });
}

export async function listRoles(db: Queryable, userId: string): Promise<RoleGrant[]> {
  const { rows } = await db.query<{ role: RoleGrant['role']; community_id: string | null }>({
    name: 'userRoles.list',
    text: 'SELECT role, community_id FROM user_roles WHERE user_id = $1 ORDER BY role, community_id',
    values: [userId],
  });
  return rows.map((r) =>
    r.role === 'admin' ? { role: 'admin', communityId: null } : { role: r.role, communityId: r.community_id! },
  );
}

/** The state the server checks on every authenticated request (cached briefly). */
export async function loadUserState(
  db: Queryable,
  userId: string,
): Promise<{ epoch: number; banned: boolean; roles: RoleGrant[] } | null> {
  const user = await findUserById(db, userId);
  if (!user) return null;
  return { epoch: user.token_epoch, banned: user.banned_at !== null, roles: await listRoles(db, userId) };
}

export async function grantRole(
  tx: Queryable,
  userId: string,
  grant: RoleGrant,
  grantedBy: string | null,
): Promise<boolean> {
  const { rowCount } = await tx.query({
    text: `INSERT INTO user_roles (user_id, role, community_id, granted_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    values: [userId, grant.role, grant.communityId, grantedBy],
  });
  return rowCount > 0;
}

export async function revokeRole(tx: Queryable, userId: string, grant: RoleGrant): Promise<boolean> {
  const { rowCount } = await tx.query({
    text: `DELETE FROM user_roles WHERE user_id = $1 AND role = $2 AND community_id IS NOT DISTINCT FROM $3`,
    values: [userId, grant.role, grant.communityId],
  });
  return rowCount > 0;
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens

export interface RefreshRow {
  id: string;
  family_id: string;
  user_id: string;
  expired: boolean;
  spent_at: Date | null;
  revoked_at: Date | null;
}

export async function insertRefreshToken(
  tx: Queryable,
  t: { familyId: string; userId: string; hash: Buffer; days: number },
): Promise<void> {
  await tx.query({
    name: 'refresh.insert',
    text: `INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at)
           VALUES ($1, $2, $3, now() + make_interval(days => $4))`,
    values: [t.familyId, t.userId, t.hash, t.days],
  });
}

export async function findRefreshToken(tx: Queryable, hash: Buffer): Promise<RefreshRow | null> {
  const { rows } = await tx.query<RefreshRow>({
    name: 'refresh.find',
    text: `SELECT id, family_id, user_id, expires_at <= now() AS expired, spent_at, revoked_at
           FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`,
    values: [hash],
  });
  return rows[0] ?? null;
}

export async function spendRefreshToken(tx: Queryable, id: string): Promise<void> {
  await tx.query({
    name: 'refresh.spend',
    text: 'UPDATE refresh_tokens SET spent_at = now() WHERE id = $1',
    values: [id],
  });
}

export async function revokeFamily(tx: Queryable, familyId: string): Promise<void> {
  await tx.query({
    name: 'refresh.revokeFamily',
    text: 'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
    values: [familyId],
  });
}

export async function revokeAllForUser(tx: Queryable, userId: string): Promise<void> {
  await tx.query({
    text: 'UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL',
    values: [userId],
  });
}

// ---------------------------------------------------------------------------------------------
// Admin: the list of accounts

export interface AdminUserRow {
  id: string;
  email: string | null;
  display_name: string;
  locale: string;
  banned_at: Date | null;
  created_at: Date;
  roles: Array<{ role: RoleGrant['role']; community_id: string | null }>;
  total: number;
}

/** Accounts matching a part of the email or name (and holding `role`), newest first, with the count of all matches. */
export async function listUsers(
  db: Queryable,
  filter: { q: string | null; role: RoleGrant['role'] | null; limit: number; offset: number },
): Promise<AdminUserRow[]> {
  const { rows } = await db.query<AdminUserRow>({
    name: 'users.adminList',
    text: `SELECT u.id, u.email, u.display_name, u.locale, u.banned_at, u.created_at,
                  coalesce((SELECT json_agg(json_build_object('role', r.role, 'community_id', r.community_id)
                                            ORDER BY r.role, r.community_id)
                            FROM user_roles r WHERE r.user_id = u.id), '[]'::json) AS roles,
                  (count(*) OVER ())::int AS total
           FROM users u
           WHERE ($1::text IS NULL OR strpos(lower(coalesce(u.email, '') || ' ' || u.display_name), lower($1)) > 0)
             AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = $2))
           ORDER BY u.created_at DESC, u.id
           LIMIT $3 OFFSET $4`,
    values: [filter.q, filter.role, filter.limit, filter.offset],
  });
  return rows;
}

export async function countUsers(
  db: Queryable,
  filter: { q: string | null; role: RoleGrant['role'] | null },
): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    text: `SELECT count(*)::int AS n FROM users u
           WHERE ($1::text IS NULL OR strpos(lower(coalesce(u.email, '') || ' ' || u.display_name), lower($1)) > 0)
             AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = $2))`,
    values: [filter.q, filter.role],
  });
  return rows[0]!.n;
}

export async function setProfile(
  tx: Queryable,
  userId: string,
  change: { locale?: 'en' | 'af'; displayName?: string },
): Promise<UserRow | null> {
  const { rows } = await tx.query<UserRow>({
    text: `UPDATE users SET locale = coalesce($2, locale), display_name = coalesce($3, display_name), updated_at = now()
           WHERE id = $1 RETURNING ${USER}`,
    values: [userId, change.locale ?? null, change.displayName ?? null],
  });
  return rows[0] ?? null;
}

export async function communityExists(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query({ text: 'SELECT 1 FROM communities WHERE id = $1', values: [id] });
  return rows.length > 0;
}
