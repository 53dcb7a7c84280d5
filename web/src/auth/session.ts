/**
 * The signed-in session, kept in this browser (localStorage) so a report queued offline can still
 * be sent after a restart. Access tokens live minutes; the refresh token makes new ones
 * (rotating: each refresh token is spent once, so refreshes are single-flight).
 */
export interface SessionUser {
  id: string;
  email: string;
  displayName: string;
  locale: string;
  roles: { role: string; communityId: string | null }[];
}
export interface Session {
  accessToken: string;
  refreshToken: string;
  /** ms since epoch */
  expiresAt: number;
  user: SessionUser;
}
export interface SessionResponse {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: SessionUser;
}

const KEY = 'buurtwag.session';
const listeners = new Set<() => void>();
let current: Session | null = load();
let refreshing: Promise<string | null> | null = null;

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function getSession(): Session | null {
  return current;
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function setSession(response: SessionResponse | null, now = Date.now()): void {
  current = response
    ? {
        accessToken: response.accessToken,
        refreshToken: response.refreshToken,
        expiresAt: now + response.expiresIn * 1000,
        user: response.user,
      }
    : null;
  try {
    if (current) localStorage.setItem(KEY, JSON.stringify(current));
    else localStorage.removeItem(KEY);
  } catch {
    // private mode without storage: the session lasts as long as the page
  }
  for (const listener of listeners) listener();
}

export function updateUser(user: SessionUser): void {
  if (!current) return;
  current = { ...current, user };
  localStorage.setItem(KEY, JSON.stringify(current));
  for (const listener of listeners) listener();
}

/** A usable access token, refreshed when it has (nearly) run out; null when signed out. */
export async function accessToken(now = Date.now()): Promise<string | null> {
  if (!current) return null;
  if (current.expiresAt - 30_000 > now) return current.accessToken;
  refreshing ??= refresh(current.refreshToken).finally(() => (refreshing = null));
  return refreshing;
}

async function refresh(refreshToken: string): Promise<string | null> {
  // offline, this throws and the session is kept for later: the caller's request fails as offline anyway
  const res = await fetch('/api/v1/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken }),
  });
  if (res.status === 401) {
    setSession(null);
    return null;
  }
  if (!res.ok) return current?.accessToken ?? null;
  setSession((await res.json()) as SessionResponse);
  return current?.accessToken ?? null;
}
