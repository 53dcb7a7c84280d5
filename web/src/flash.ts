/**
 * A message for the page a flow moves to (the incident page after sending a report). Read, not
 * taken: React may render a page more than once before it shows it, and each render must see the
 * message; it is for that page only, and only shortly after it was set.
 */
let pending: { path: string; message: string; at: number } | null = null;
const SHOWN_FOR_MS = 15_000;

export function setFlash(path: string, message: string, now = Date.now()): void {
  pending = { path, message, at: now };
}

export function flashFor(path: string, now = Date.now()): string | null {
  return pending && pending.path === path && now - pending.at < SHOWN_FOR_MS ? pending.message : null;
}
