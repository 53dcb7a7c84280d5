import createClient, { type Middleware } from 'openapi-fetch';
import { accessToken } from '../auth/session';
import { currentLang } from '../i18n/I18nProvider';
import type { paths } from './schema';

/**
 * The typed API client (generated from the server's OpenAPI document: `npm run api:generate`).
 * Every request carries the signed-in user's token and the page's language.
 */
const auth: Middleware = {
  async onRequest({ request }) {
    const token = await accessToken();
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    request.headers.set('accept-language', currentLang());
    return request;
  },
};

const BASE_URL = globalThis.location?.origin ?? 'http://localhost';

export const api = createClient<paths>({
  baseUrl: BASE_URL,
  // looked up per request, not once: tests stub fetch after this module loads
  fetch: (request) => globalThis.fetch(request),
});
api.use(auth);

type Json<T> = T extends { content: { 'application/json': infer J } } ? J : never;
export type IncidentList = Json<paths['/api/v1/incidents']['get']['responses'][200]>;
export type Incident = IncidentList['items'][number];
export type IncidentStatus = Incident['status'];
export type IncidentDraft = NonNullable<paths['/api/v1/incidents']['post']['requestBody']>['content']['application/json'];
export type Category = Json<paths['/api/v1/categories']['get']['responses'][200]>['items'][number];
export type CategoryAttribute = Category['attributes'][number];
export type TimelineEvent = Json<paths['/api/v1/incidents/{idOrReference}/timeline']['get']['responses'][200]>['items'][number];
export type Media = Json<paths['/api/v1/incidents/{idOrReference}/media']['get']['responses'][200]>['items'][number];
export type SimilarIncident = Json<paths['/api/v1/incidents/similar']['get']['responses'][200]>['items'][number];

export const STATUSES: readonly IncidentStatus[] = [
  'reported',
  'acknowledged',
  'in_progress',
  'resolved',
  'closed',
  'rejected',
  'duplicate',
];

/** RFC 9457 problem+json from the server, already in the page's language. */
export interface Problem {
  title?: string;
  detail?: string;
  status?: number;
  errors?: { path: string; message: string }[];
}

/** What to tell the person about a failed request: the server's own (localized) words. */
export function problemText(error: unknown, fallback: string): string {
  const p = error as Problem | undefined;
  if (p && typeof p === 'object' && (p.detail || p.title)) {
    const fields = (p.errors ?? []).map((e) => e.message).join(' ');
    return [p.detail ?? p.title, fields].filter(Boolean).join(' ');
  }
  return fallback;
}

/** A fetch that failed for want of a network (offline, DNS, connection refused). */
export function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError || (typeof navigator !== 'undefined' && navigator.onLine === false);
}

/**
 * A photo upload: multipart, which the OpenAPI document does not describe as a body (the server
 * reads the stream itself), so it goes through fetch with the same headers as the client.
 */
export async function uploadMedia(
  incidentId: string,
  file: Blob,
  name: string,
): Promise<{ ok: true } | { ok: false; status: number; problem: Problem | null }> {
  const form = new FormData();
  form.append('file', file, name);
  const token = await accessToken();
  const res = await fetch(`${BASE_URL}/api/v1/incidents/${encodeURIComponent(incidentId)}/media`, {
    method: 'POST',
    body: form,
    headers: { 'accept-language': currentLang(), ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  if (res.ok) return { ok: true };
  return { ok: false, status: res.status, problem: (await res.json().catch(() => null)) as Problem | null };
}
