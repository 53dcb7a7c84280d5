import {
  OutboundFailed,
  OutboundRefused,
  safeRequest,
  type OutboundPolicy,
} from '../../platform/outbound/safe-http.js';
import { signWebhook } from '../../platform/outbound/standard-webhooks.js';
import { pick } from '../../i18n/i18n.js';
import type { IncidentRow } from '../incidents/incidents.repository.js';
import type { ForwardDelivery } from './authorities.jobs.js';
import type { AuthorityRow } from './authorities.repository.js';
import { liveSecrets } from './authorities.secrets.js';

/**
 * How an incident reaches an authority over HTTP, through the SSRF-safe client: as an Open311
 * service request POSTed to their GeoReport v2 endpoint (Buurtwag as the client), or as a signed
 * Standard Webhooks event. What they answer decides what the forwarding job does next:
 *   2xx → delivered (their service_request_id kept) · 410 → gone (the authority is disabled) ·
 *   429/503 with Retry-After → retry then · anything else, a timeout, a reset → retry on the
 *   backoff schedule (~3 days, then a dead letter) · a URL the outbound policy refuses (a private
 *   address, a port not allowed) → gone: it can never succeed.
 * Authorities get what they need to act: the exact location, the description and the answers
 * to the category's questions — never who reported it.
 */
export interface HttpDeliveryOptions {
  policy: OutboundPolicy;
  /** signs webhooks; each authority's secret is derived from it (authorities.secrets.ts) */
  signingKey: Uint8Array;
  /** links back to the incident */
  publicUrl: string;
  timeoutMs?: number;
}

const DESCRIPTION_MAX = 4000;

export function createHttpDelivery(options: HttpDeliveryOptions): ForwardDelivery {
  return async (authority, incident) => {
    const delivery = authority.delivery;
    try {
      if (delivery.kind === 'open311') return await toOpen311(delivery, incident, options);
      if (delivery.kind === 'webhook') return await toWebhook(authority, delivery.url, incident, options);
      return { kind: 'gone', reason: 'the authority takes no deliveries' };
    } catch (err) {
      if (err instanceof OutboundRefused)
        return { kind: 'gone', reason: `refused by the outbound policy: ${err.message}` };
      if (err instanceof OutboundFailed) return { kind: 'retry', reason: err.message };
      throw err;
    }
  };
}

type Outcome = Awaited<ReturnType<ForwardDelivery>>;

async function toOpen311(
  delivery: { endpoint: string; apiKey: string; jurisdictionId?: string | null },
  incident: IncidentRow,
  options: HttpDeliveryOptions,
): Promise<Outcome> {
  const form = new URLSearchParams();
  form.set('api_key', delivery.apiKey);
  if (delivery.jurisdictionId) form.set('jurisdiction_id', delivery.jurisdictionId);
  form.set('service_code', incident.category_slug);
  form.set('lat', String(incident.lat));
  form.set('long', String(incident.lon));
  if (incident.address) form.set('address_string', incident.address);
  form.set('description', `${incident.title}\n\n${incident.description}`.trim().slice(0, DESCRIPTION_MAX));
  for (const [code, value] of Object.entries(incident.metadata ?? {})) {
    if (Array.isArray(value)) for (const v of value) form.append(`attribute[${code}][]`, String(v));
    else if (value !== null && typeof value !== 'object') form.set(`attribute[${code}]`, String(value));
  }
  const res = await safeRequest(
    `${delivery.endpoint.replace(/\/+$/, '')}/requests.json`,
    {
      method: 'POST',
      // GeoReport v2 has no idempotency of its own; receivers that know the header can drop a retry
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        'idempotency-key': `buurtwag-${incident.reference}`,
      },
      body: form.toString(),
      timeoutMs: options.timeoutMs ?? 10_000,
    },
    options.policy,
  );
  const outcome = judge(res.status, res.headers);
  if (outcome.kind !== 'delivered') return outcome;
  return { kind: 'delivered', ...externalIdOf(res.body) };
}

async function toWebhook(
  authority: AuthorityRow,
  url: string,
  incident: IncidentRow,
  options: HttpDeliveryOptions,
): Promise<Outcome> {
  const payload = JSON.stringify({
    type: 'incident.forwarded',
    timestamp: new Date().toISOString(),
    data: {
      authority: { id: authority.id, name: authority.name },
      incident: {
        id: incident.id,
        reference: incident.reference,
        url: `${options.publicUrl.replace(/\/+$/, '')}/api/v1/incidents/${incident.id}`,
        title: incident.title,
        description: incident.description,
        category: { slug: incident.category_slug, name: pick(incident.category_name, 'en') },
        priority: incident.priority,
        status: incident.status,
        location: { type: 'Point', coordinates: [incident.lon, incident.lat] },
        address: incident.address,
        metadata: incident.metadata,
        createdAt: incident.created_at,
      },
    },
  });
  // the same id on every retry, so the receiver can drop a second copy
  const headers = signWebhook(
    { id: `forward_${incident.id}_${authority.id}`, timestamp: Math.floor(Date.now() / 1000), payload },
    liveSecrets(options.signingKey, authority),
  );
  const res = await safeRequest(
    url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
      timeoutMs: options.timeoutMs ?? 10_000,
    },
    options.policy,
  );
  return judge(res.status, res.headers);
}

function judge(status: number, headers: Record<string, string>): Outcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'gone', reason: 'their endpoint answered 410 Gone' };
  const after = retryAfterSeconds(headers['retry-after']);
  return {
    kind: 'retry',
    reason: `their endpoint answered ${status}`,
    ...((status === 429 || status === 503) && after !== null ? { afterSeconds: after } : {}),
  };
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterSeconds(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Their id for the request: GeoReport v2 answers `[{service_request_id}]` (or a token). */
function externalIdOf(body: Buffer): { externalId?: string } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    const first = (Array.isArray(parsed) ? parsed[0] : parsed) as Record<string, unknown> | undefined;
    const id = first?.service_request_id ?? first?.token;
    return typeof id === 'string' || typeof id === 'number' ? { externalId: String(id).slice(0, 200) } : {};
  } catch {
    return {};
  }
}
