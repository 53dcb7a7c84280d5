import { createHash, randomUUID } from 'node:crypto';
import { banListTargetId, normalizeBanValue } from './ban-list.js';
import type { Database, Queryable } from '../../platform/db/database.js';
import { AppError, invalidField, notFound } from '../../platform/http/errors.js';
import { recordAudit } from '../audit/audit.repository.js';
import { refusal, type Actor, type RoleGrant } from '../identity/actor.js';
import type { UserStateCache } from '../identity/user-state-cache.js';
import * as repo from './accounts.repository.js';
import { insertConsent } from '../privacy/privacy.repository.js';
import { checkRegistrationTerms } from '../privacy/privacy.service.js';
import type {
  AdminUser,
  AdminUserList,
  AdminUserQuery,
  Login,
  Me,
  MePatch,
  Register,
  RoleChange,
  Session,
} from './accounts.schemas.js';
import { canManageAccounts } from './accounts.policy.js';
import { checkPassword, decoyHash, hashPassword, verifyPassword, type PasswordProblem } from './passwords.js';
import { AccessTokens, hashRefreshToken, newRefreshToken, REFRESH_TOKEN_DAYS } from './tokens.js';

/**
 * Accounts and sessions: register, sign in, refresh, sign out, change password; and the CLI's
 * user management. Every security event goes to the audit log; no password or token ever does.
 */
export interface AccountsDeps {
  db: Database;
  tokens: AccessTokens;
  userState: UserStateCache;
  /** the terms and privacy version in force (config.privacy.termsVersion); registration records it */
  termsVersion?: string;
}

export interface SecurityContext {
  requestId: string | null;
  ip: string | null;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const PASSWORD_MESSAGES: Record<
  PasswordProblem,
  'validation.password_too_short' | 'validation.password_too_long' | 'validation.password_too_common'
> = {
  too_short: 'validation.password_too_short',
  too_long: 'validation.password_too_long',
  too_common: 'validation.password_too_common',
};

function requireGoodPassword(password: string, path: string): void {
  const problem = checkPassword(password);
  if (problem) throw invalidField(path, PASSWORD_MESSAGES[problem], { limit: problem === 'too_short' ? 10 : 256 });
}

export async function presentMe(db: Queryable, user: repo.UserRow): Promise<Me> {
  const roles = await repo.listRoles(db, user.id);
  return {
    id: user.id,
    email: user.email ?? '',
    displayName: user.display_name,
    locale: user.locale,
    roles: [{ role: 'resident', communityId: null }, ...roles],
    createdAt: user.created_at.toISOString(),
  };
}

/** A new token pair: a new sign-in (family), or the next pair of an existing one on refresh. */
async function startSession(
  deps: AccountsDeps,
  tx: Queryable,
  user: repo.UserRow,
  familyId: string = randomUUID(),
): Promise<Session> {
  const refresh = newRefreshToken();
  await repo.insertRefreshToken(tx, {
    familyId,
    userId: user.id,
    hash: refresh.hash,
    days: REFRESH_TOKEN_DAYS,
  });
  const access = await deps.tokens.issue(user.id, user.token_epoch);
  return {
    user: await presentMe(tx, user),
    accessToken: access.token,
    refreshToken: refresh.token,
    expiresIn: access.expiresIn,
  };
}

export async function register(
  deps: AccountsDeps,
  input: Register,
  lang: 'en' | 'af',
  ctx: SecurityContext,
): Promise<Session> {
  requireGoodPassword(input.password, '/body/password');
  const terms = deps.termsVersion ? checkRegistrationTerms(input, deps.termsVersion) : null;
  const passwordHash = await hashPassword(input.password);
  return deps.db.transaction(async (tx) => {
    const user = await repo.insertUser(tx, {
      email: normalizeEmail(input.email),
      displayName: input.displayName.trim() || input.email,
      locale: input.locale ?? lang,
      passwordHash,
    });
    if (!user) throw new AppError('conflict', 'error.email_taken.detail');
    if (terms) await insertConsent(tx, { userId: user.id, ...terms });
    await recordAudit(tx, {
      actorId: user.id,
      action: 'user.register',
      entityType: 'user',
      entityId: user.id,
      requestId: ctx.requestId,
      ip: ctx.ip,
    });
    return startSession(deps, tx, user);
  });
}

/**
 * The same answer, and about the same time, for an unknown email and a wrong password: an
 * unknown email still costs one argon2 verification (of a decoy hash).
 */
export async function login(deps: AccountsDeps, input: Login, ctx: SecurityContext): Promise<Session> {
  const email = normalizeEmail(input.email);
  const user = await repo.findUserByEmail(deps.db, email);
  const ok = await verifyPassword(user?.password_hash ?? (await decoyHash()), input.password);
  if (!user || !user.password_hash || !ok || user.banned_at) {
    await deps.db.transaction((tx) =>
      recordAudit(tx, {
        actorId: null,
        action: 'auth.login.failure',
        entityType: 'user',
        entityId: user?.id ?? 'unknown',
        // who was tried, without storing the address itself
        data: {
          emailSha256: createHash('sha256').update(email).digest('hex'),
          reason: user?.banned_at ? 'banned' : 'credentials',
        },
        requestId: ctx.requestId,
        ip: ctx.ip,
      }),
    );
    throw new AppError('unauthorized', 'error.bad_credentials.detail');
  }
  return deps.db.transaction(async (tx) => {
    await recordAudit(tx, {
      actorId: user.id,
      action: 'auth.login.success',
      entityType: 'user',
      entityId: user.id,
      requestId: ctx.requestId,
      ip: ctx.ip,
    });
    return startSession(deps, tx, user);
  });
}

/** Spends a refresh token for a new pair. A spent token presented again revokes its family. */
export async function refresh(deps: AccountsDeps, refreshToken: string, ctx: SecurityContext): Promise<Session> {
  const outcome = await deps.db.transaction(async (tx) => {
    const row = await repo.findRefreshToken(tx, hashRefreshToken(refreshToken));
    if (!row || row.revoked_at || row.expired) return { ok: false as const };
    if (row.spent_at) {
      await repo.revokeFamily(tx, row.family_id);
      await recordAudit(tx, {
        actorId: row.user_id,
        action: 'auth.refresh.reuse',
        entityType: 'user',
        entityId: row.user_id,
        data: { familyId: row.family_id },
        requestId: ctx.requestId,
        ip: ctx.ip,
      });
      return { ok: false as const };
    }
    const user = await repo.findUserById(tx, row.user_id);
    if (!user || user.banned_at) return { ok: false as const };
    await repo.spendRefreshToken(tx, row.id);
    return { ok: true as const, session: await startSession(deps, tx, user, row.family_id) };
  });
  // the reuse revocation above must commit, so the refusal comes after the transaction
  if (!outcome.ok) throw new AppError('unauthorized', 'error.token_invalid.detail');
  return outcome.session;
}

/** Ends the sign-in of this refresh token, and the user's current access tokens. */
export async function logout(deps: AccountsDeps, refreshToken: string, ctx: SecurityContext): Promise<void> {
  const userId = await deps.db.transaction(async (tx) => {
    const row = await repo.findRefreshToken(tx, hashRefreshToken(refreshToken));
    if (!row) return null;
    await repo.revokeFamily(tx, row.family_id);
    await repo.bumpTokenEpoch(tx, row.user_id);
    await recordAudit(tx, {
      actorId: row.user_id,
      action: 'auth.logout',
      entityType: 'user',
      entityId: row.user_id,
      requestId: ctx.requestId,
      ip: ctx.ip,
    });
    return row.user_id;
  });
  if (userId) deps.userState.forget(userId);
}

export async function getMe(deps: AccountsDeps, userId: string | null): Promise<Me> {
  if (!userId) throw new AppError('unauthorized', 'error.unauthorized.detail');
  const user = await repo.findUserById(deps.db, userId);
  if (!user) throw new AppError('unauthorized', 'error.unauthorized.detail');
  return presentMe(deps.db, user);
}

export async function changePassword(
  deps: AccountsDeps,
  userId: string | null,
  input: { currentPassword: string; newPassword: string },
  ctx: SecurityContext,
): Promise<void> {
  if (!userId) throw new AppError('unauthorized', 'error.unauthorized.detail');
  const user = await repo.findUserById(deps.db, userId);
  if (!user?.password_hash || !(await verifyPassword(user.password_hash, input.currentPassword))) {
    throw invalidField('/body/currentPassword', 'validation.password_wrong');
  }
  requireGoodPassword(input.newPassword, '/body/newPassword');
  const passwordHash = await hashPassword(input.newPassword);
  await deps.db.transaction(async (tx) => {
    await repo.setPassword(tx, userId, passwordHash);
    await repo.revokeAllForUser(tx, userId);
    await recordAudit(tx, {
      actorId: userId,
      action: 'user.password.change',
      entityType: 'user',
      entityId: userId,
      requestId: ctx.requestId,
      ip: ctx.ip,
    });
  });
  deps.userState.forget(userId);
}

/** The signed-in user's own settings: the language (kept per account, used after each sign-in) and name. */
export async function updateMe(
  deps: AccountsDeps,
  userId: string | null,
  change: MePatch,
  ctx: SecurityContext,
): Promise<Me> {
  if (!userId) throw new AppError('unauthorized', 'error.unauthorized.detail');
  const displayName = change.displayName?.trim();
  if (change.displayName !== undefined && !displayName) throw invalidField('/body/displayName', 'validation.blank');
  return deps.db.transaction(async (tx) => {
    const before = await repo.findUserById(tx, userId, true);
    if (!before) throw new AppError('unauthorized', 'error.unauthorized.detail');
    const user = (await repo.setProfile(tx, userId, { locale: change.locale, displayName }))!;
    const changed = {
      ...(user.locale !== before.locale ? { locale: user.locale } : {}),
      ...(user.display_name !== before.display_name ? { displayName: true } : {}),
    };
    // the name is personal data: the trail says that it changed, not what to
    if (Object.keys(changed).length > 0) {
      await recordAudit(tx, {
        actorId: userId,
        action: 'user.update',
        entityType: 'user',
        entityId: userId,
        data: changed,
        requestId: ctx.requestId,
        ip: ctx.ip,
      });
    }
    return presentMe(tx, user);
  });
}

// ---------------------------------------------------------------------------------------------
// Admin over the API: the list of accounts, granting and taking away roles

function presentAdminUser(row: repo.AdminUserRow): AdminUser {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    locale: row.locale,
    roles: row.roles.map((r) => ({ role: r.role, communityId: r.role === 'admin' ? null : r.community_id })),
    banned: row.banned_at !== null,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export async function listUsers(db: Queryable, actor: Actor, query: AdminUserQuery): Promise<AdminUserList> {
  if (!canManageAccounts(actor)) throw refusal(actor);
  const filter = { q: query.q?.trim() || null, role: query.role ?? null };
  const limit = query.limit ?? 25;
  const offset = query.offset ?? 0;
  const rows = await repo.listUsers(db, { ...filter, limit, offset });
  // past the last page the window count is missing: count on its own
  const total = rows[0]?.total ?? (offset > 0 ? await repo.countUsers(db, filter) : 0);
  return { items: rows.map(presentAdminUser), total };
}

async function adminUser(db: Queryable, userId: string): Promise<AdminUser> {
  const user = await repo.findUserById(db, userId);
  if (!user) throw notFound('error.user_not_found.detail', { id: userId });
  return {
    id: user.id,
    email: user.email,
    displayName: user.display_name,
    locale: user.locale,
    roles: await repo.listRoles(db, user.id),
    banned: user.banned_at !== null,
    createdAt: user.created_at.toISOString(),
  };
}

async function checkGrant(db: Queryable, change: RoleChange): Promise<RoleGrant> {
  if (change.role === 'admin') {
    if (change.communityId) throw invalidField('/body/communityId', 'validation.role_admin_community');
    return { role: 'admin', communityId: null };
  }
  if (!change.communityId) throw invalidField('/body/communityId', 'validation.role_needs_community');
  if (!(await repo.communityExists(db, change.communityId))) {
    throw invalidField('/body/communityId', 'validation.community_missing');
  }
  return { role: change.role, communityId: change.communityId.toLowerCase() };
}

/**
 * Grants (or takes away) a role. The user's access tokens end, so new powers apply at once and
 * lost ones stop at once; an admin cannot take away their own admin role (no locking out by a slip).
 */
export async function changeRole(
  deps: AccountsDeps,
  actor: Actor,
  userId: string,
  action: 'grant' | 'revoke',
  change: RoleChange,
  ctx: SecurityContext,
): Promise<AdminUser> {
  if (!canManageAccounts(actor)) throw refusal(actor);
  const id = userId.toLowerCase();
  const grant = await checkGrant(deps.db, change);
  if (action === 'revoke' && grant.role === 'admin' && id === actor.userId) {
    throw new AppError('conflict', 'error.own_admin_role.detail');
  }
  const result = await deps.db.transaction(async (tx) => {
    const user = await repo.findUserById(tx, id, true);
    if (!user) throw notFound('error.user_not_found.detail', { id: userId });
    const changed =
      action === 'grant' ? await repo.grantRole(tx, id, grant, actor.userId) : await repo.revokeRole(tx, id, grant);
    if (changed) {
      await repo.bumpTokenEpoch(tx, id);
      await recordAudit(tx, {
        actorId: actor.userId,
        action: `role.${action}`,
        entityType: 'user',
        entityId: id,
        ...(action === 'grant' ? { after: grant } : { before: grant }),
        data: { via: 'api' },
        requestId: ctx.requestId,
        ip: ctx.ip,
      });
    }
    return adminUser(tx, id);
  });
  deps.userState.forget(id);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Command line: users create | grant | revoke

export class CliError extends Error {}

export async function createUserCli(
  db: Database,
  input: { email: string; password: string; name: string; grant: RoleGrant | null },
): Promise<{ id: string }> {
  const problem = checkPassword(input.password);
  if (problem)
    throw new CliError(`the password is ${problem.replace('_', ' ')} (at least 10 characters, not a common password)`);
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const user = await repo.insertUser(tx, {
      email: normalizeEmail(input.email),
      displayName: input.name,
      locale: 'en',
      passwordHash,
    });
    if (!user) throw new CliError(`a user with the email ${normalizeEmail(input.email)} exists already`);
    await recordAudit(tx, {
      actorId: null,
      action: 'user.create',
      entityType: 'user',
      entityId: user.id,
      data: { via: 'cli' },
    });
    if (input.grant) await grantTx(tx, user.id, input.grant);
    return { id: user.id };
  });
}

async function grantTx(tx: Queryable, userId: string, grant: RoleGrant): Promise<boolean> {
  const added = await repo.grantRole(tx, userId, grant, null);
  await repo.bumpTokenEpoch(tx, userId);
  await recordAudit(tx, {
    actorId: null,
    action: 'role.grant',
    entityType: 'user',
    entityId: userId,
    after: grant,
    data: { via: 'cli', changed: added },
  });
  return added;
}

export async function changeRoleCli(
  db: Database,
  action: 'grant' | 'revoke',
  email: string,
  grant: RoleGrant,
): Promise<{ id: string; changed: boolean }> {
  return db.transaction(async (tx) => {
    const user = await repo.findUserByEmail(tx, normalizeEmail(email));
    if (!user) throw new CliError(`no user with the email ${normalizeEmail(email)}`);
    if (action === 'grant') return { id: user.id, changed: await grantTx(tx, user.id, grant) };
    const removed = await repo.revokeRole(tx, user.id, grant);
    // role changes end the user's access tokens, so the new powers apply at once
    await repo.bumpTokenEpoch(tx, user.id);
    await recordAudit(tx, {
      actorId: null,
      action: 'role.revoke',
      entityType: 'user',
      entityId: user.id,
      before: grant,
      data: { via: 'cli', changed: removed },
    });
    return { id: user.id, changed: removed };
  });
}

/** Who changes a ban, for the audit trail: the CLI (no actor) or an admin over the API. */
export interface BanOrigin {
  actorId: string | null;
  via: 'cli' | 'api';
  requestId?: string | null;
  ip?: string | null;
}

const CLI_ORIGIN: BanOrigin = { actorId: null, via: 'cli' };

/** Bans an account (no more sign-in, tokens ended, its reports hidden) or lifts the ban. */
export async function setBannedCli(
  db: Database,
  email: string,
  banned: boolean,
  reason: string | null,
): Promise<{ id: string; hiddenReports: number }> {
  return db.transaction(async (tx) => {
    const user = await repo.findUserByEmail(tx, normalizeEmail(email));
    if (!user) throw new CliError(`no user with the email ${normalizeEmail(email)}`);
    const { hiddenReports } = await setBanned(tx, user.id, banned, reason, CLI_ORIGIN);
    return { id: user.id, hiddenReports };
  });
}

/**
 * The one way an account is banned or unbanned (CLI and API), inside the caller's transaction.
 * The caller forgets the user's cached state after commit, so the ban bites at once.
 */
export async function setBanned(
  tx: Queryable,
  userId: string,
  banned: boolean,
  reason: string | null,
  origin: BanOrigin,
): Promise<{ hiddenReports: number }> {
  await tx.query({
    text: `UPDATE users SET banned_at = ${banned ? 'coalesce(banned_at, now())' : 'NULL'} WHERE id = $1`,
    values: [userId],
  });
  let hidden = 0;
  if (banned) {
    await repo.bumpTokenEpoch(tx, userId);
    await repo.revokeAllForUser(tx, userId);
    hidden = (
      await tx.query({
        text: 'UPDATE incidents SET hidden = true WHERE reporter_id = $1 AND NOT hidden',
        values: [userId],
      })
    ).rowCount;
  }
  await recordAudit(tx, {
    actorId: origin.actorId,
    action: banned ? 'user.ban' : 'user.unban',
    entityType: 'user',
    entityId: userId,
    data: { via: origin.via, reason, hiddenReports: hidden },
    requestId: origin.requestId ?? null,
    ip: origin.ip ?? null,
  });
  return { hiddenReports: hidden };
}

/** The ban list: reports by accounts with this email, or any email of this domain, stay hidden. */
export async function changeBanListCli(
  db: Database,
  action: 'add' | 'remove',
  entry: { kind: 'email' | 'domain'; value: string; reason: string | null },
): Promise<{ changed: boolean; hiddenReports: number }> {
  return db.transaction((tx) => changeBanList(tx, action, entry, CLI_ORIGIN));
}

/** The one way the ban list changes (CLI and API), inside the caller's transaction. */
export async function changeBanList(
  tx: Queryable,
  action: 'add' | 'remove',
  entry: { kind: 'email' | 'domain'; value: string; reason: string | null },
  origin: BanOrigin,
): Promise<{ changed: boolean; hiddenReports: number }> {
  const value = normalizeBanValue(entry.value);
  let changed: boolean;
  let hidden = 0;
  if (action === 'add') {
    changed =
      (
        await tx.query({
          text: 'INSERT INTO ban_list (kind, value, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          values: [entry.kind, value, entry.reason],
        })
      ).rowCount > 0;
    hidden = (
      await tx.query({
        text: `UPDATE incidents i SET hidden = true FROM users u
               WHERE u.id = i.reporter_id AND NOT i.hidden
                 AND (CASE WHEN $1 = 'email' THEN lower(u.email) = $2 ELSE split_part(lower(u.email), '@', 2) = $2 END)`,
        values: [entry.kind, value],
      })
    ).rowCount;
  } else {
    changed =
      (await tx.query({ text: 'DELETE FROM ban_list WHERE kind = $1 AND value = $2', values: [entry.kind, value] }))
        .rowCount > 0;
  }
  await recordAudit(tx, {
    actorId: origin.actorId,
    action: `banlist.${action}`,
    entityType: 'ban_list',
    entityId: banListTargetId(entry.kind, value),
    data: { via: origin.via, reason: entry.reason, hiddenReports: hidden },
    requestId: origin.requestId ?? null,
    ip: origin.ip ?? null,
  });
  return { changed, hiddenReports: hidden };
}
