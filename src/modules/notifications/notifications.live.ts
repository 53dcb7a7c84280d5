import type { Database } from '../../platform/db/database.js';
import type { Bus } from '../../platform/bus/bus.js';
import type { Hub } from '../realtime/realtime.hub.js';
import { LIVE_TOPIC } from './notifications.jobs.js';
import { presentNotification } from './notifications.presenter.js';
import * as repo from './notifications.repository.js';

/**
 * New in-app notifications, live on the WebSocket `me` channel of every node: the notifier (in
 * whichever process) announces the events it fanned out on the bus; each node reads the
 * notifications of those events for the people with a `me` socket here, and sends each its own
 * as `{"type":"notification","notification":{…}}`. The bus is a doorbell: a lost message only
 * means the list (GET /me/notifications) shows it on the next fetch.
 */
export function attachLiveNotifications(deps: {
  hub: Hub;
  bus: Bus;
  db: Database;
  log: { warn(obj: object, msg: string): void };
}): () => void {
  const { hub, bus, db, log } = deps;
  return bus.subscribe(LIVE_TOPIC, (message) => {
    let eventIds: number[];
    try {
      eventIds = (JSON.parse(message) as { eventIds: number[] }).eventIds.filter(Number.isSafeInteger);
    } catch {
      return;
    }
    const listening = hub.all().filter((c) => c.actor.userId !== null && c.subs.has('me'));
    if (listening.length === 0 || eventIds.length === 0) return;
    const users = [...new Set(listening.map((c) => c.actor.userId!))];
    repo
      .notificationsFor(db, eventIds, users)
      .then((rows) => {
        for (const row of rows) {
          for (const client of listening) {
            if (client.actor.userId !== row.user_id) continue;
            const frame = JSON.stringify({ type: 'notification', notification: presentNotification(row, client.lang) });
            hub.send(client, frame);
          }
        }
      })
      .catch((err: unknown) => log.warn({ err }, 'live notifications could not be read'));
  });
}
