import type { Lang } from '../../i18n/i18n.js';
import type { NotificationRow } from './notifications.repository.js';
import type { MessageFacts } from './notifications.templates.js';
import { renderShort } from './notifications.templates.js';

/** The fields of an in-app notification that leave the server: a whitelist. */
export interface NotificationView {
  id: string;
  kind: string;
  text: string;
  incident: { id: string; reference: string; title: string };
  status: { from: string; to: string } | null;
  excerpt: string | null;
  createdAt: string;
  readAt: string | null;
}

export function presentNotification(row: NotificationRow, lang: Lang): NotificationView {
  const data = row.data as Partial<MessageFacts>;
  const facts: MessageFacts = {
    kind: row.kind,
    reference: String(data.reference ?? ''),
    title: String(data.title ?? ''),
    ...(data.from !== undefined ? { from: data.from } : {}),
    ...(data.to !== undefined ? { to: data.to } : {}),
    ...(data.slaKind !== undefined ? { slaKind: data.slaKind } : {}),
    ...(data.level !== undefined ? { level: data.level } : {}),
  };
  return {
    id: row.id,
    kind: row.kind,
    text: renderShort(lang, facts),
    incident: { id: row.incident_id, reference: facts.reference, title: facts.title },
    status: data.from !== undefined && data.to !== undefined ? { from: data.from, to: data.to } : null,
    excerpt: typeof data.excerpt === 'string' ? data.excerpt : null,
    createdAt: new Date(row.created_at).toISOString(),
    readAt: row.read_at ? new Date(row.read_at).toISOString() : null,
  };
}
