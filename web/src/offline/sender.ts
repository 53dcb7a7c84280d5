import { api, isNetworkError, problemText, uploadMedia } from '../api/client';
import { listItems, putItem, removeItem, type OutboxItem } from './outbox';

export type SendResult =
  | { kind: 'sent'; reference: string; incidentId: string; failedPhotos: { n: number; detail: string }[] }
  | { kind: 'queued' }
  | { kind: 'refused'; detail: string };

// one sender per item at a time: the form's own attempt and the online-again flush may meet
const inFlight = new Map<string, Promise<SendResult>>();

/**
 * Sends one queued report: the incident (with its Idempotency-Key), then each photo not yet sent.
 * A network failure leaves it queued; a refusal by the server is kept on it for the person to see.
 */
export function sendItem(item: OutboxItem, fallbackError: string): Promise<SendResult> {
  let running = inFlight.get(item.id);
  if (!running) {
    running = send(item, fallbackError).finally(() => inFlight.delete(item.id));
    inFlight.set(item.id, running);
  }
  return running;
}

async function send(item: OutboxItem, fallbackError: string): Promise<SendResult> {
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return { kind: 'queued' };
  try {
    if (!item.incidentId) {
      const { data, error, response } = await api.POST('/api/v1/incidents', {
        body: item.draft,
        params: { header: { 'idempotency-key': item.id } },
      });
      if (!data) {
        if (response.status >= 500 || response.status === 429 || response.status === 408) return { kind: 'queued' };
        const detail = problemText(error, fallbackError);
        await putItem({ ...item, error: detail });
        return { kind: 'refused', detail };
      }
      item = { ...item, incidentId: data.id, reference: data.reference, error: null };
      await putItem(item);
    }
    const failedPhotos: { n: number; detail: string }[] = [];
    while (item.photosSent < item.photos.length) {
      const n = item.photosSent;
      const result = await uploadMedia(item.incidentId!, item.photos[n]!, `photo-${n + 1}.jpg`);
      if (!result.ok && (result.status >= 500 || result.status === 429)) return { kind: 'queued' };
      // a photo the server will not take (too big, not a photo) is told, not retried forever
      if (!result.ok) failedPhotos.push({ n: n + 1, detail: problemText(result.problem, fallbackError) });
      item = { ...item, photosSent: n + 1 };
      await putItem(item);
    }
    await removeItem(item.id);
    return { kind: 'sent', reference: item.reference!, incidentId: item.incidentId!, failedPhotos };
  } catch (err) {
    if (isNetworkError(err)) return { kind: 'queued' };
    throw err;
  }
}

let flushing: Promise<number> | null = null;

/** Sends everything queued that can go; the number sent. */
export function flushOutbox(fallbackError: string): Promise<number> {
  flushing ??= (async () => {
    let sent = 0;
    for (const item of await listItems()) {
      if (item.error) continue;
      const result = await sendItem(item, fallbackError);
      if (result.kind === 'sent') sent++;
      if (result.kind === 'queued') break;
    }
    return sent;
  })().finally(() => (flushing = null));
  return flushing;
}
