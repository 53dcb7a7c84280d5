import type { TimelineEvent } from './api/client';
import { useI18n } from './i18n/I18nProvider';
import type { TKey } from './i18n/i18n';

/**
 * One timeline event as a line of text, for the incident page and the staff console. Staff see
 * a hidden comment's words with a tag; the public see that it was hidden.
 */
export function EventText({ event, staff = false }: { event: TimelineEvent; staff?: boolean }) {
  const { t } = useI18n();
  const name = event.actor?.displayName ?? t('event.someone');
  const data = event.data as Record<string, unknown>;
  const status = (s: unknown) => (typeof s === 'string' ? t(`status.${s}` as TKey) : '');
  switch (event.type) {
    case 'comment':
    case 'internal_note':
      return (
        <div>
          <span className="muted">
            {t(event.type === 'comment' ? 'event.comment' : 'event.internal_note', { name })}
          </span>
          {staff && event.internal && <span className="tag">{t('staff.internal')}</span>}
          {staff && event.hidden && <span className="tag">{t('staff.hidden')}</span>}
          {event.hidden && !staff ? (
            <p className="muted">{t('incident.comment_hidden')}</p>
          ) : (
            <p className="comment">{String(data.body ?? '')}</p>
          )}
        </div>
      );
    case 'status_changed':
      return <span>{t('event.status_changed', { from: status(data.from), to: status(data.to) })}</span>;
    case 'routed':
      return <span>{t('event.routed', { name: String(data.name ?? '') })}</span>;
    case 'created':
    case 'media_added':
    case 'media_removed':
    case 'confirmed':
    case 'assigned':
    case 'unassigned':
    case 'priority_changed':
    case 'category_changed':
    case 'edited':
    case 'merged_into':
    case 'merged_from':
      return <span>{t(`event.${event.type}`)}</span>;
    default:
      return <span>{t('event.other')}</span>;
  }
}
