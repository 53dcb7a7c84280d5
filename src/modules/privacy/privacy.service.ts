import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import yazl from 'yazl';
import type { Database, Queryable, Tx } from '../../platform/db/database.js';
import { AppError, invalidField } from '../../platform/http/errors.js';
import { enqueue } from '../../platform/jobs/jobs.js';
import type { BlobStorage } from '../../platform/storage/storage.js';
import { recordAudit, type AuditOrigin } from '../audit/audit.repository.js';
import { verifyPassword } from '../accounts/passwords.js';
import type { Actor } from '../identity/actor.js';
import { enqueueObjectDeletion } from '../media/media.jobs.js';
import { appendEvents, type TimelineEventInsert } from '../timeline/timeline.repository.js';
import { canManageOwnData } from './privacy.policy.js';
import * as repo from './privacy.repository.js';
import type { Consent, ExportLink } from './privacy.schemas.js';
import { deidentifyText } from './privacy.scrub.js';

/**
 * The person's rights over their data (GDPR articles 15, 17 and 20): a copy of everything
 * (export), erasure, and the consent history; plus the retention rules that erase on their own.
 */

/** How long an export link works, and that it works once. */
export const EXPORT_LINK_SECONDS = 15 * 60;
/** What an erased account is called wherever its pseudonymous id still shows. */
export const ERASED_NAME = 'Anonymous';
/** The job that tells an authority a reporter had their data erased. */
export const REPORTER_ERASED_JOB = 'privacy.reporter-erased.v1';
/** Timeline type of the same news, for general webhooks and live clients. */
export const REPORTER_ERASED_EVENT = 'reporter_erased';

export interface SecurityContext extends AuditOrigin {
  requestId: string | null;
  ip: string | null;
}

const unauthorized = () => new AppError('unauthorized', 'error.unauthorized.detail');

/** Re-authentication: the password again, however fresh the access token is. */
async function requirePassword(db: Queryable, actor: Actor, password: string): Promise<repo.PersonRow> {
  if (!canManageOwnData(actor) || !actor.userId) throw unauthorized();
  const person = await repo.findPerson(db, actor.userId);
  if (!person || person.erased_at) throw unauthorized();
  if (!person.password_hash || !(await verifyPassword(person.password_hash, password))) {
    throw invalidField('/body/password', 'validation.password_wrong');
  }
  return person;
}

const hashCode = (code: string): Buffer => createHash('sha256').update(code).digest();

// ---------------------------------------------------------------------------------------------
// Export

export async function requestExport(
  db: Database,
  actor: Actor,
  password: string,
  publicUrl: string,
  ctx: SecurityContext,
  now: Date = new Date(),
): Promise<ExportLink> {
  const person = await requirePassword(db, actor, password);
  const code = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + EXPORT_LINK_SECONDS * 1000);
  await db.transaction(async (tx) => {
    await repo.insertExport(tx, { userId: person.id, tokenHash: hashCode(code), expiresAt });
    await recordAudit(tx, {
      actorId: person.id,
      action: 'privacy.export.request',
      entityType: 'user',
      entityId: person.id,
      requestId: ctx.requestId,
      ip: ctx.ip,
    });
  });
  return {
    url: `${publicUrl.replace(/\/+$/, '')}/api/v1/me/export?code=${code}`,
    expiresAt: expiresAt.toISOString(),
  };
}

/**
 * Spends the link and answers the zip as a stream: data.json first, then each stored file read
 * from the store one at a time, so memory holds the records but never the media.
 */
export async function downloadExport(
  db: Database,
  storage: BlobStorage,
  code: string,
  ctx: SecurityContext,
  now: Date = new Date(),
): Promise<Readable> {
  const userId = await db.transaction(async (tx) => {
    const owner = await repo.spendExport(tx, hashCode(code), now);
    if (owner) {
      await recordAudit(tx, {
        actorId: owner,
        action: 'privacy.export.download',
        entityType: 'user',
        entityId: owner,
        requestId: ctx.requestId,
        ip: ctx.ip,
      });
    }
    return owner;
  });
  if (!userId) throw new AppError('not_found', 'error.export_link_invalid.detail');
  const { data, files } = await collectPersonalData(db, userId, now);
  return zipExport(storage, data, files);
}

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

/** Every record about the person, as data.json shows it, and the stored files to add. */
export async function collectPersonalData(
  db: Queryable,
  userId: string,
  now: Date,
): Promise<{ data: Record<string, unknown>; files: Array<{ path: string; key: string }> }> {
  const person = await repo.findPerson(db, userId);
  if (!person) throw unauthorized();
  const [roles, consents, sessions, reports, timeline, media, follows, confirmations, uploads, audit] =
    await Promise.all([
      repo.listRoles(db, userId),
      repo.listConsents(db, userId),
      repo.listSessions(db, userId),
      repo.listReports(db, userId),
      repo.listTimelineEntries(db, userId),
      repo.listMedia(db, userId),
      repo.listFollows(db, userId),
      repo.listConfirmations(db, userId),
      repo.listUploadLedger(db, userId),
      repo.listAuditAbout(db, userId),
    ]);
  const files: Array<{ path: string; key: string }> = [];
  const data = {
    format: 'buurtwag-export-v1',
    exportedAt: now.toISOString(),
    account: {
      id: person.id,
      email: person.email,
      displayName: person.display_name,
      locale: person.locale,
      roles: [
        { role: 'resident', communityId: null, grantedAt: null },
        ...roles.map((r) => ({ role: r.role, communityId: r.community_id, grantedAt: iso(r.created_at) })),
      ],
      bannedAt: iso(person.banned_at),
      createdAt: iso(person.created_at),
      updatedAt: iso(person.updated_at),
    },
    consents: consents.map(presentConsent),
    sessions: sessions.map((s) => ({
      id: s.id,
      signInId: s.family_id,
      createdAt: iso(s.created_at),
      expiresAt: iso(s.expires_at),
      spentAt: iso(s.spent_at),
      revokedAt: iso(s.revoked_at),
    })),
    reports: reports.map((r) => ({
      id: r.id,
      reference: r.reference,
      title: r.title,
      description: r.description,
      category: r.category_slug,
      status: r.status,
      priority: r.priority,
      location: { type: 'Point', coordinates: [r.lon, r.lat] },
      address: r.address,
      communityId: r.community_id,
      isPublic: r.is_public,
      anonymous: r.anonymous,
      hidden: r.hidden,
      metadata: r.metadata,
      createdAt: iso(r.created_at),
      updatedAt: iso(r.updated_at),
    })),
    comments: timeline
      .filter((e) => e.type === 'comment' || e.type === 'internal_note')
      .map((e) => ({
        id: e.id,
        incidentId: e.incident_id,
        incidentReference: e.reference,
        body: typeof e.data.body === 'string' ? e.data.body : '',
        internal: e.internal,
        hiddenAt: iso(e.hidden_at),
        createdAt: iso(e.created_at),
      })),
    activity: timeline
      .filter((e) => e.type !== 'comment' && e.type !== 'internal_note')
      .map((e) => ({
        id: e.id,
        incidentId: e.incident_id,
        incidentReference: e.reference,
        type: e.type,
        data: e.data,
        createdAt: iso(e.created_at),
      })),
    media: media.map((m) => {
      const keys = [...m.variants.map((v) => v.key), ...(m.original_key ? [m.original_key] : [])];
      const paths = keys.map((key) => {
        const path = `files/${key}`;
        files.push({ path, key });
        return path;
      });
      return {
        id: m.id,
        incidentId: m.incident_id,
        kind: m.kind,
        contentType: m.content_type,
        size: Number(m.size),
        width: m.width,
        height: m.height,
        files: paths,
        createdAt: iso(m.created_at),
      };
    }),
    follows: follows.map((f) => ({ incidentId: f.incident_id, createdAt: iso(f.created_at) })),
    confirmations: confirmations.map((c) => ({ incidentId: c.incident_id, createdAt: iso(c.created_at) })),
    uploads: uploads.map((u) => ({ bytes: Number(u.bytes), createdAt: iso(u.created_at) })),
    auditEntries: audit.map((a) => ({
      id: a.id,
      action: a.action,
      entityType: a.entity_type,
      entityId: a.entity_id,
      data: a.data,
      before: a.before,
      after: a.after,
      requestId: a.request_id,
      ip: a.ip,
      createdAt: iso(a.created_at),
    })),
  };
  return { data, files };
}

function zipExport(storage: BlobStorage, data: unknown, files: ReadonlyArray<{ path: string; key: string }>): Readable {
  const zip = new yazl.ZipFile();
  const out = new PassThrough();
  zip.outputStream.pipe(out);
  // a store failing halfway must end the download as broken, not as a short but valid-looking zip
  zip.on('error', (err: Error) => out.destroy(err));
  // a client that goes away mid-download must not leave the open file or S3 body behind
  let open: Readable | null = null;
  out.on('close', () => open?.destroy());
  zip.addBuffer(Buffer.from(JSON.stringify(data, null, 2)), 'data.json');
  for (const file of files) {
    // media is compressed already; opened only when its turn comes, so one object at a time is open
    zip.addReadStreamLazy(file.path, { compress: false }, (callback) => {
      storage.read(file.key).then(
        // an object removed meanwhile (a moderator deleted the photo) becomes an empty entry
        (stream) => {
          open = stream ?? Readable.from([]);
          callback(null, open);
        },
        (err: unknown) => callback(err as Error, Readable.from([])),
      );
    });
  }
  zip.end();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Consent

export function presentConsent(row: repo.ConsentRow): Consent {
  return { kind: row.kind, version: row.version, explicit: row.explicit, acceptedAt: row.created_at.toISOString() };
}

/**
 * Registration's consent. `acceptTerms` missing is the API as it was before consent existed: the
 * person registered under the terms in force, recorded as not explicit. false is refused; a
 * version other than the current one too (the form showed outdated terms).
 */
export function checkRegistrationTerms(
  input: { acceptTerms?: boolean; termsVersion?: string },
  currentVersion: string,
): { version: string; explicit: boolean } {
  if (input.acceptTerms === false) throw invalidField('/body/acceptTerms', 'validation.terms_required');
  if (input.termsVersion !== undefined && input.termsVersion !== currentVersion) {
    throw invalidField('/body/termsVersion', 'validation.terms_outdated', { current: currentVersion });
  }
  return { version: currentVersion, explicit: input.acceptTerms === true };
}

export async function listMyConsents(
  db: Queryable,
  actor: Actor,
): Promise<{ current: string | null; items: Consent[] }> {
  if (!canManageOwnData(actor) || !actor.userId) throw unauthorized();
  const items = (await repo.listConsents(db, actor.userId)).map(presentConsent);
  return { current: items[items.length - 1]?.version ?? null, items };
}

export async function acceptTerms(
  db: Database,
  actor: Actor,
  version: string,
  currentVersion: string,
  ctx: SecurityContext,
): Promise<void> {
  if (!canManageOwnData(actor) || !actor.userId) throw unauthorized();
  if (version !== currentVersion) {
    throw invalidField('/body/termsVersion', 'validation.terms_outdated', { current: currentVersion });
  }
  const userId = actor.userId;
  await db.transaction(async (tx) => {
    await repo.insertConsent(tx, { userId, version, explicit: true });
    await recordAudit(tx, {
      actorId: userId,
      action: 'privacy.consent',
      entityType: 'user',
      entityId: userId,
      data: { kind: 'terms', version },
      requestId: ctx.requestId,
      ip: ctx.ip,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Erasure

export interface ErasureSummary {
  reportsKept: number;
  reportsDeleted: number;
  commentsDeidentified: number;
  photosDeleted: number;
}

/** After the erasure committed: this node and every other one stop honouring the old tokens. */
export type ErasureAnnouncer = (userId: string) => Promise<void>;

/** DELETE /me: the password again, then the same erasure that retention uses. */
export async function eraseOwnAccount(
  db: Database,
  actor: Actor,
  input: { password: string; deletePhotos?: boolean },
  ctx: SecurityContext,
  announce: ErasureAnnouncer,
  now: Date = new Date(),
): Promise<ErasureSummary> {
  const person = await requirePassword(db, actor, input.password);
  const summary = await db.transaction((tx) =>
    eraseUser(tx, person.id, { deletePhotos: input.deletePhotos ?? false, reason: 'request' }, now),
  );
  await announce(person.id);
  return summary;
}

/**
 * Erases one account in the caller's transaction. Kept: the users row as a pseudonym (its id is
 * what the hash-chained audit trail and old reports point at; the trail itself never held the
 * person's email or name, only ids), the public reports (anonymous, the point coarsened to its
 * ~250 m cell, no address, names, emails, phone numbers and coordinates cut from the text) and
 * comments (likewise cut). Removed: private reports, sessions, roles, follows, "me too"s, the
 * upload ledger, export links, stored idempotent answers, and the photos where asked.
 */
export async function eraseUser(
  tx: Tx,
  userId: string,
  options: { deletePhotos: boolean; reason: 'request' | 'retention' },
  now: Date,
): Promise<ErasureSummary> {
  const person = await repo.findPerson(tx, userId, true);
  if (!person || person.erased_at) throw unauthorized();
  const who = { email: person.email, displayName: person.display_name };
  const events: TimelineEventInsert[] = [];

  const reports = await repo.listReports(tx, userId);
  const privateIds = reports.filter((r) => !r.is_public).map((r) => r.id);
  const kept = reports.filter((r) => r.is_public);

  let photosDeleted = 0;
  if (options.deletePhotos) {
    const { keys, removed } = await repo.deleteMediaOf(tx, userId);
    await enqueueObjectDeletion(tx, keys);
    photosDeleted = removed.length;
    for (const m of removed) {
      // the private reports' own timelines go with them below
      if (privateIds.includes(m.incident_id)) continue;
      events.push({
        incidentId: m.incident_id,
        type: 'media_removed',
        actorId: null,
        data: { mediaId: m.id, kind: m.kind },
      });
    }
  }
  // the files of deleted reports go too, whoever uploaded them: nothing would point at them
  await enqueueObjectDeletion(tx, await repo.mediaKeysOfIncidents(tx, privateIds));
  const reportsDeleted = await repo.deleteIncidents(tx, privateIds);
  await repo.deidentifyReports(
    tx,
    kept.map((r) => ({
      id: r.id,
      title: deidentifyText(r.title, who),
      description: deidentifyText(r.description, who),
    })),
  );

  const comments = (await repo.listTimelineEntries(tx, userId)).filter(
    (e) => (e.type === 'comment' || e.type === 'internal_note') && typeof e.data.body === 'string',
  );
  await repo.setEventBodies(
    tx,
    comments.map((c) => ({ id: c.id, body: deidentifyText(c.data.body as string, who) })),
  );

  await repo.deleteConfirmations(tx, userId);
  await repo.deletePersonalRows(
    tx,
    userId,
    kept.map((r) => r.id),
  );
  await repo.forgetInModeration(tx, userId, person.email, (text) => deidentifyText(text, who));
  await repo.erasePerson(tx, userId, ERASED_NAME, now);

  for (const r of kept) events.push({ incidentId: r.id, type: REPORTER_ERASED_EVENT, actorId: null, data: {} });
  await appendEvents(tx, events);
  // authorities that took these reports by webhook are told to erase what they keep of the reporter
  for (const target of await repo.webhookAuthoritiesOf(
    tx,
    kept.map((r) => r.id),
  )) {
    await enqueue(tx, REPORTER_ERASED_JOB, { incidentId: target.incident_id, authorityId: target.authority_id });
  }

  const summary = { reportsKept: kept.length, reportsDeleted, commentsDeidentified: comments.length, photosDeleted };
  await recordAudit(tx, {
    // the pseudonymous id only; no address either: the request's client address is the person's
    actorId: options.reason === 'request' ? userId : null,
    action: 'user.erase',
    entityType: 'user',
    entityId: userId,
    data: { reason: options.reason, deletePhotos: options.deletePhotos, ...summary },
  });
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Retention

export interface RetentionResult {
  dryRun: boolean;
  inactiveAccounts: number;
  erasedAccounts: number;
  spamReports: number;
  purgedReports: number;
}

const BATCH = 200;
const EVERYTHING = 10_000_000;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Anonymizes accounts unused for `inactiveAccountYears` (the same erasure as DELETE /me, keeping
 * photos on public reports) and deletes hidden reports of banned or ban-listed accounts older
 * than `hiddenSpamDays`, with their files. Each account is its own transaction, so one that
 * fails does not hold back the others. `now` is a parameter: tests pass a faked clock.
 */
export async function runRetention(
  db: Database,
  policy: { inactiveAccountYears: number; hiddenSpamDays: number },
  options: { dryRun: boolean; now?: Date; announce?: ErasureAnnouncer },
): Promise<RetentionResult> {
  const now = options.now ?? new Date();
  const accountCutoff = new Date(now);
  accountCutoff.setUTCFullYear(accountCutoff.getUTCFullYear() - policy.inactiveAccountYears);
  const spamCutoff = new Date(now.getTime() - policy.hiddenSpamDays * DAY_MS);
  const result: RetentionResult = {
    dryRun: options.dryRun,
    inactiveAccounts: 0,
    erasedAccounts: 0,
    spamReports: 0,
    purgedReports: 0,
  };

  if (options.dryRun) {
    result.inactiveAccounts = (await repo.inactiveAccounts(db, accountCutoff, EVERYTHING)).length;
    result.spamReports = (await repo.hiddenSpam(db, spamCutoff, EVERYTHING)).length;
    return result;
  }
  await repo.deleteExpiredExports(db, now);
  // spam first: erasing its sender would take the email the ban list recognizes it by
  for (;;) {
    const ids = await repo.hiddenSpam(db, spamCutoff, BATCH);
    if (ids.length === 0) break;
    result.spamReports += ids.length;
    result.purgedReports += await db.transaction(async (tx) => {
      await enqueueObjectDeletion(tx, await repo.mediaKeysOfIncidents(tx, ids));
      const removed = await repo.deleteIncidents(tx, ids);
      for (const id of ids) {
        await recordAudit(tx, {
          actorId: null,
          action: 'privacy.retention.purge',
          entityType: 'incident',
          entityId: id,
          data: { rule: 'hidden_spam', hiddenSpamDays: policy.hiddenSpamDays },
        });
      }
      return removed;
    });
  }
  // erased accounts leave the query, so each batch is the next one
  for (;;) {
    const ids = await repo.inactiveAccounts(db, accountCutoff, BATCH);
    if (ids.length === 0) break;
    result.inactiveAccounts += ids.length;
    for (const id of ids) {
      await db.transaction((tx) => eraseUser(tx, id, { deletePhotos: false, reason: 'retention' }, now));
      await options.announce?.(id);
      result.erasedAccounts += 1;
    }
  }
  return result;
}
