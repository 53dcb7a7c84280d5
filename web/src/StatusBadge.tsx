import type { IncidentStatus } from './api/client';
import { useI18n } from './i18n/I18nProvider';

export function StatusBadge({ status }: { status: IncidentStatus }) {
  const { t } = useI18n();
  return <span className={`badge badge-${status}`}>{t(`status.${status}`)}</span>;
}
