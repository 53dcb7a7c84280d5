import { lazy, Suspense, useSyncExternalStore } from 'react';
import { getSession, subscribeSession } from '../auth/session';
import { useI18n } from '../i18n/I18nProvider';
import type { TKey } from '../i18n/i18n';
import { Link, usePath } from '../router';

// each part is its own chunk: an admin opening the categories does not load the map drawing
const SECTIONS = {
  categories: lazy(() => import('./CategoriesAdmin')),
  communities: lazy(() => import('./CommunitiesAdmin')),
  users: lazy(() => import('./UsersAdmin')),
  authorities: lazy(() => import('./AuthoritiesAdmin')),
  webhooks: lazy(() => import('./WebhooksAdmin')),
  open311: lazy(() => import('./Open311Admin')),
  audit: lazy(() => import('./AuditAdmin')),
} as const;
type SectionName = keyof typeof SECTIONS;
const NAMES = Object.keys(SECTIONS) as SectionName[];

export function sectionOf(pathname: string): SectionName {
  const name = /^\/admin\/([a-z0-9]+)/.exec(pathname)?.[1];
  return NAMES.includes(name as SectionName) ? (name as SectionName) : 'categories';
}

/**
 * Administration (admins only: the server refuses everyone else, and the page does not offer what
 * they cannot do). Its own chunk, loaded only by those who open /admin.
 */
export default function AdminPage() {
  const { t } = useI18n();
  const path = usePath();
  const session = useSyncExternalStore(subscribeSession, getSession);
  const isAdmin = session?.user.roles.some((r) => r.role === 'admin') ?? false;

  if (!session) {
    return (
      <div className="page narrow">
        <h1>{t('admin.title')}</h1>
        <p>
          <Link href={`/signin?next=${encodeURIComponent(path)}`}>{t('admin.sign_in_first')}</Link>
        </p>
      </div>
    );
  }
  if (!isAdmin) {
    return (
      <div className="page narrow">
        <h1>{t('admin.title')}</h1>
        <p>{t('admin.not_admin')}</p>
      </div>
    );
  }

  const current = sectionOf(path.split('?')[0]!);
  const Section = SECTIONS[current];
  return (
    <div className="page admin">
      <h1>
        {t('admin.title')}: {t(`admin.nav.${current}` as TKey)}
      </h1>
      <nav aria-label={t('admin.nav.label')} className="admin-nav">
        <ul>
          {NAMES.map((name) => (
            <li key={name}>
              <Link href={`/admin/${name}`} aria-current={name === current ? 'page' : undefined}>
                {t(`admin.nav.${name}` as TKey)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <Suspense fallback={<p>{t('app.loading')}</p>}>
        <Section key={current} />
      </Suspense>
    </div>
  );
}
