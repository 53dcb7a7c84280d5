import type { Database } from '../../platform/db/database.js';
import type { JobLogger, JobRunner } from '../../platform/jobs/jobs.js';
import { blurredPoint } from '../incidents/incidents.presenter.js';
import { NotAccepted, type MailChannel } from '../notifications/notifications.email.js';
import { signUnsubscribe } from '../notifications/notifications.unsubscribe.js';
import * as repo from './alerts.repository.js';
import { renderAlertDigest } from './alerts.templates.js';
import { alertUnsubscribeLink } from './alerts.unsubscribe.js';

export const DAILY_DIGEST_JOB = 'alerts.daily-digest.v1';

/** South Africa keeps +02:00 all year: "a day" is a day there. */
const SAST_MS = 2 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;
const CLAIM_BATCH = 20;

export interface AlertDigestDeps {
  db: Database;
  /** the notifier's mail channel: the same SMTP server or outbox */
  mail: MailChannel;
  publicUrl: string;
  /** the notifier's unsubscribe key */
  unsubscribeKey: Uint8Array;
  log: JobLogger;
  /** tests fake the clock */
  now?: () => Date;
}

/**
 * Immediate area alerts are a recipient rule of the notifier (notifications.rules.ts), so they
 * share its fan-out, preferences, in-app list, Web Push and at-most-once deliveries. Only the
 * daily digest is here: it groups a person's matches of a whole day, which the notifier's
 * flood digests (minutes, per event) do not.
 */
export function registerAlertJobs(jobs: JobRunner, deps: AlertDigestDeps): void {
  jobs.register({ name: DAILY_DIGEST_JOB, handle: () => sendDailyDigests(deps).then(() => undefined) });
  jobs.every(DAILY_DIGEST_JOB, 60_000);
}

/** The (South African) day before `now`'s: [from, to) in UTC, and its date. */
export function previousDay(now: Date): { day: string; from: Date; to: Date } {
  const to = Math.floor((now.getTime() + SAST_MS) / DAY_MS) * DAY_MS - SAST_MS;
  const from = to - DAY_MS;
  return { day: new Date(from + SAST_MS).toISOString().slice(0, 10), from: new Date(from), to: new Date(to) };
}

/**
 * Yesterday's digests that have not gone out: one mail per person with everything their daily
 * alerts matched. Each is claimed (a row per person and day) before it is sent, so it goes out at
 * most once; a refusal by the mail server releases the claim for the next run.
 */
export async function sendDailyDigests(deps: AlertDigestDeps): Promise<number> {
  const { db } = deps;
  const window = previousDay(deps.now?.() ?? new Date());
  const base = deps.publicUrl.replace(/\/+$/, '');
  let sent = 0;
  for (;;) {
    const users = await repo.claimDigests(db, window, CLAIM_BATCH);
    for (const userId of users) {
      const [person, items] = await Promise.all([repo.recipient(db, userId), repo.digestItems(db, userId, window)]);
      if (!person?.email || items.length === 0) {
        await repo.finishDigest(db, userId, window.day, { state: 'sent', items: 0, now: deps.now?.() ?? new Date() });
        continue;
      }
      const alerts = await repo.alertsByIds(db, [...new Set(items.flatMap((i) => i.alert_ids))]);
      const stopUrl = `${base}/api/v1/unsubscribe/${signUnsubscribe(deps.unsubscribeKey, {
        userId,
        channel: 'email',
        kind: 'area_alert',
      })}`;
      const rendered = renderAlertDigest(
        person.locale,
        person.display_name,
        items.map((i) => ({
          reference: i.reference,
          title: i.title,
          category: i.category_name,
          // the public's view: a sensitive report's blurred cell
          location: i.sensitive ? blurredPoint(i.lon, i.lat) : [i.lon, i.lat],
          approximate: i.sensitive,
          url: `${base}/incidents/${i.reference}`,
        })),
        alerts.map((a) => ({
          community: a.community_name,
          radius: a.radius_m,
          center: a.lon === null || a.lat === null ? null : [a.lon, a.lat],
          removeUrl: alertUnsubscribeLink(deps.unsubscribeKey, deps.publicUrl, a.id),
        })),
        stopUrl,
      );
      try {
        await deps.mail.send({
          to: person.email,
          ...rendered,
          messageId: `<area-digest-${window.day}-${userId}@${new URL(deps.publicUrl).hostname}>`,
          headers: {
            'List-Unsubscribe': `<${stopUrl}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            'Auto-Submitted': 'auto-generated',
          },
        });
        await repo.finishDigest(db, userId, window.day, {
          state: 'sent',
          items: items.length,
          now: deps.now?.() ?? new Date(),
        });
        sent += 1;
      } catch (err) {
        await repo.finishDigest(db, userId, window.day, { state: err instanceof NotAccepted ? 'retry' : 'unknown' });
        deps.log.warn({ day: window.day, err: { message: (err as Error).message } }, 'area alert digest not sent');
        // a refused one would be claimed again at once: leave it for the next run
        if (err instanceof NotAccepted) return sent;
      }
    }
    if (users.length < CLAIM_BATCH) return sent;
  }
}
