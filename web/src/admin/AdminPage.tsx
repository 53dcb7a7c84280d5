import { useI18n } from '../i18n/I18nProvider';

/** Administration (a later step); its own chunk, loaded only by those who open /admin. */
export default function AdminPage() {
  const { t } = useI18n();
  return (
    <div className="page">
      <h1>{t('admin.title')}</h1>
      <p>{t('staff.placeholder')}</p>
    </div>
  );
}
