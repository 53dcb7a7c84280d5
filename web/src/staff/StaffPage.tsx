import { useI18n } from '../i18n/I18nProvider';

/** The staff console (a later step); its own chunk, loaded only by those who open /staff. */
export default function StaffPage() {
  const { t } = useI18n();
  return (
    <div className="page">
      <h1>{t('staff.title')}</h1>
      <p>{t('staff.placeholder')}</p>
    </div>
  );
}
