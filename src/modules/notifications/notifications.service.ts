import type { Database } from '../../platform/db/database.js';
import { AppError, invalidField } from '../../platform/http/errors.js';
import { refusal, type Actor } from '../identity/actor.js';
import type { Lang } from '../../i18n/i18n.js';
import { canManageOwnNotifications } from './notifications.policy.js';
import { presentNotification, type NotificationView } from './notifications.presenter.js';
import * as repo from './notifications.repository.js';
import { PREFERENCE_KINDS, type PreferenceKind } from './notifications.rules.js';
import { verifyUnsubscribe, type UnsubscribeClaim } from './notifications.unsubscribe.js';

export interface Context {
  actor: Actor;
  lang: Lang;
}

function me(actor: Actor): string {
  if (!canManageOwnNotifications(actor)) throw refusal(actor);
  return actor.userId;
}

// ---------------------------------------------------------------------------------------------
// In-app list

const ID = /^[1-9][0-9]{0,17}$/;

export async function listNotifications(
  db: Database,
  ctx: Context,
  query: { limit?: number; cursor?: string; unread?: boolean },
): Promise<{ items: NotificationView[]; nextCursor: string | null; unreadCount: number }> {
  const userId = me(ctx.actor);
  const limit = query.limit ?? 50;
  let beforeId: string | null = null;
  if (query.cursor !== undefined) {
    beforeId = Buffer.from(query.cursor, 'base64url').toString('utf8');
    if (!ID.test(beforeId)) throw invalidField('/query/cursor', 'validation.cursor');
  }
  const rows = await repo.listNotifications(db, userId, {
    limit: limit + 1,
    beforeId,
    unreadOnly: query.unread ?? false,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((row) => presentNotification(row, ctx.lang)),
    nextCursor: rows.length > limit && last ? Buffer.from(last.id).toString('base64url') : null,
    unreadCount: await repo.unreadCount(db, userId),
  };
}

export async function markRead(
  db: Database,
  ctx: Context,
  body: { ids?: string[]; all?: boolean },
  now = new Date(),
): Promise<{ updated: number; unreadCount: number }> {
  const userId = me(ctx.actor);
  if ((body.all === true) === (body.ids !== undefined)) {
    throw invalidField('/body', 'validation.invalid');
  }
  const ids = body.ids ?? [];
  const bad = ids.findIndex((id) => !ID.test(id));
  if (bad >= 0) throw invalidField(`/body/ids/${bad}`, 'validation.invalid');
  const updated = await repo.markRead(db, userId, body.all ? 'all' : ids, now);
  return { updated, unreadCount: await repo.unreadCount(db, userId) };
}

// ---------------------------------------------------------------------------------------------
// Preferences

export const CHANNELS = ['email', 'push', 'inApp'] as const;
type Channel = (typeof CHANNELS)[number];
type Switches = Record<Channel, boolean>;

export interface Preferences {
  channels: Switches;
  kinds: Record<PreferenceKind, Switches>;
  reporterUpdates: boolean;
}

export interface PreferencesPatch {
  channels?: Partial<Switches>;
  kinds?: Partial<Record<PreferenceKind, Partial<Switches>>>;
  reporterUpdates?: boolean;
}

/** Stored settings (a missing switch is on) → every switch spelled out. */
function resolve(settings: Record<string, unknown>): Preferences {
  const s = settings as PreferencesPatch;
  const on = (value: boolean | undefined) => value !== false;
  const switches = (given: Partial<Switches> | undefined): Switches =>
    Object.fromEntries(CHANNELS.map((c) => [c, on(given?.[c])])) as Switches;
  return {
    channels: switches(s.channels),
    kinds: Object.fromEntries(PREFERENCE_KINDS.map((k) => [k, switches(s.kinds?.[k])])) as Preferences['kinds'],
    reporterUpdates: on(s.reporterUpdates),
  };
}

export async function getPreferences(db: Database, ctx: Context): Promise<Preferences> {
  return resolve(await repo.getSettings(db, me(ctx.actor)));
}

/** What is given replaces those switches; the rest stay as they were. */
export async function updatePreferences(db: Database, ctx: Context, patch: PreferencesPatch): Promise<Preferences> {
  const userId = me(ctx.actor);
  return db.transaction(async (tx) => {
    const current = resolve(await repo.getSettings(tx, userId));
    const next: Preferences = {
      channels: { ...current.channels, ...patch.channels },
      kinds: Object.fromEntries(
        PREFERENCE_KINDS.map((k) => [k, { ...current.kinds[k], ...patch.kinds?.[k] }]),
      ) as Preferences['kinds'],
      reporterUpdates: patch.reporterUpdates ?? current.reporterUpdates,
    };
    await repo.putSettings(tx, userId, next);
    return next;
  });
}

/** RFC 8058 one-click: no sign-in, the signed token says who and what. */
export async function unsubscribe(db: Database, key: Uint8Array, token: string): Promise<UnsubscribeClaim> {
  const claim = verifyUnsubscribe(key, token);
  if (claim === null) throw new AppError('bad_request', 'error.unsubscribe_token.detail');
  await db.transaction(async (tx) => {
    const current = resolve(await repo.getSettings(tx, claim.userId));
    if (claim.kind === 'all') current.channels.email = false;
    else current.kinds[claim.kind].email = false;
    await repo.putSettings(tx, claim.userId, current);
  });
  return claim;
}

// ---------------------------------------------------------------------------------------------
// Web Push subscriptions

export async function subscribePush(
  db: Database,
  ctx: Context,
  body: { endpoint: string; keys: { p256dh: string; auth: string } },
  options: { allowHttp: boolean },
): Promise<{ id: string }> {
  const userId = me(ctx.actor);
  let url: URL | null = null;
  try {
    url = new URL(body.endpoint);
  } catch {
    /* reported below */
  }
  if (!url || !(url.protocol === 'https:' || (options.allowHttp && url.protocol === 'http:')) || url.username) {
    throw invalidField('/body/endpoint', 'validation.invalid');
  }
  const p256dh = Buffer.from(body.keys.p256dh, 'base64url');
  if (p256dh.length !== 65 || p256dh[0] !== 4) throw invalidField('/body/keys/p256dh', 'validation.invalid');
  if (Buffer.from(body.keys.auth, 'base64url').length !== 16)
    throw invalidField('/body/keys/auth', 'validation.invalid');
  const id = await repo.addPushSubscription(db, userId, {
    endpoint: url.href,
    p256dh: body.keys.p256dh,
    auth: body.keys.auth,
  });
  return { id };
}

export async function unsubscribePush(db: Database, ctx: Context, endpoint: string): Promise<void> {
  const userId = me(ctx.actor);
  let href = endpoint;
  try {
    href = new URL(endpoint).href;
  } catch {
    /* compared as given */
  }
  if (!(await repo.removePushSubscription(db, userId, href))) throw new AppError('not_found', 'error.not_found.detail');
}
