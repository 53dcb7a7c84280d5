import { lazy, Suspense, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { api } from './api/client';
import { saveAccountLang } from './auth/accountLang';
import { getSession, setSession, subscribeSession } from './auth/session';
import { useI18n } from './i18n/I18nProvider';
import { LANGS, type Lang } from './i18n/i18n';
import { listItems, onOutboxChange } from './offline/outbox';
import { flushOutbox } from './offline/sender';
import { live } from './realtime/live';
import { Link, matchRoute, navigate, usePath } from './router';

// every page is its own chunk: the first load carries the shell only
const MapPage = lazy(() => import('./pages/MapPage'));
const ReportPage = lazy(() => import('./pages/ReportPage'));
const IncidentPage = lazy(() => import('./pages/IncidentPage'));
const MyReportsPage = lazy(() => import('./pages/MyReportsPage'));
const SignInPage = lazy(() => import('./pages/AuthPages').then((m) => ({ default: m.SignInPage })));
const RegisterPage = lazy(() => import('./pages/AuthPages').then((m) => ({ default: m.RegisterPage })));
const StaffPage = lazy(() => import('./staff/StaffPage'));
const AdminPage = lazy(() => import('./admin/AdminPage'));

export function App() {
  const { t } = useI18n();
  const path = usePath();
  const route = matchRoute(path.split('?')[0]!);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // a new page moves focus to its content, so screen readers and keyboards start there
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [path]);

  let page;
  switch (route.name) {
    case 'map':
      page = <MapPage />;
      break;
    case 'report':
      page = <ReportPage />;
      break;
    case 'incident':
      page = <IncidentPage key={route.ref} reference={route.ref} />;
      break;
    case 'mine':
      page = <MyReportsPage />;
      break;
    case 'signin':
      page = <SignInPage />;
      break;
    case 'register':
      page = <RegisterPage />;
      break;
    case 'staff':
      page = <StaffPage />;
      break;
    case 'admin':
      page = <AdminPage />;
      break;
    default:
      page = (
        <div className="page narrow">
          <h1>{t('app.not_found')}</h1>
          <Link href="/">{t('app.back_to_map')}</Link>
        </div>
      );
  }

  return (
    <>
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <Header current={route.name} />
      <OfflineStatus />
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<p className="page">{t('app.loading')}</p>}>{page}</Suspense>
      </main>
    </>
  );
}

function Header({ current }: { current: string }) {
  const { t, lang, setLang } = useI18n();
  const session = useSyncExternalStore(subscribeSession, getSession);
  const signOut = async () => {
    const refreshToken = session?.refreshToken;
    setSession(null);
    live.reconnect();
    if (refreshToken) await api.POST('/api/v1/auth/logout', { body: { refreshToken } }).catch(() => undefined);
    navigate('/');
  };
  const item = (href: string, name: string, label: string) => (
    <li>
      <Link href={href} aria-current={current === name ? 'page' : undefined}>
        {label}
      </Link>
    </li>
  );
  return (
    <header className="top">
      <Link href="/" className="brand">
        {t('app.name')}
      </Link>
      <nav aria-label={t('nav.main')}>
        <ul>
          {item('/', 'map', t('nav.map'))}
          {item('/report', 'report', t('nav.report'))}
          {session && item('/me', 'mine', t('nav.mine'))}
          {session && session.user.roles.length > 0 && item('/staff', 'staff', t('staff.link'))}
          {session?.user.roles.some((r) => r.role === 'admin') && item('/admin', 'admin', t('admin.link'))}
          {!session && item('/signin', 'signin', t('nav.signin'))}
          {!session && item('/register', 'register', t('nav.register'))}
          {session && (
            <li>
              <button type="button" className="link" onClick={() => void signOut()}>
                {t('nav.signout')}
              </button>
            </li>
          )}
        </ul>
      </nav>
      <label className="lang">
        <span className="visually-hidden">{t('nav.language')}</span>
        <select
          value={lang}
          onChange={(e) => {
            const next = e.currentTarget.value as Lang;
            setLang(next);
            // signed in, the account keeps the choice for the next sign-in
            void saveAccountLang(next);
          }}
        >
          {LANGS.map((l) => (
            <option key={l} value={l} lang={l}>
              {t(`lang.${l}`)}
            </option>
          ))}
        </select>
      </label>
    </header>
  );
}

/** Offline notice, the count of reports waiting on this phone, and sending them when back online. */
function OfflineStatus() {
  const { t } = useI18n();
  const [online, setOnline] = useState(() => navigator.onLine);
  const [waiting, setWaiting] = useState(0);
  const [sent, setSent] = useState(0);

  useEffect(() => {
    const count = () =>
      void listItems().then(
        (items) => setWaiting(items.filter((i) => !i.error).length),
        () => undefined,
      );
    const flush = () =>
      void flushOutbox(t('app.error'))
        .then((n) => {
          if (n > 0) setSent(n);
        })
        .catch(() => undefined);
    const goOnline = () => {
      setOnline(true);
      flush();
    };
    const goOffline = () => setOnline(false);
    window.addEventListener('online', goOnline);
    window.addEventListener('offline', goOffline);
    const stop = onOutboxChange(count);
    count();
    flush();
    // a flaky line may say "online" and still fail: try again now and then while anything waits
    const timer = setInterval(() => {
      if (navigator.onLine) flush();
    }, 30_000);
    return () => {
      window.removeEventListener('online', goOnline);
      window.removeEventListener('offline', goOffline);
      stop();
      clearInterval(timer);
    };
  }, [t]);

  return (
    <div className="status-bar" role="status" aria-live="polite">
      {!online && <p className="offline">{t('app.offline')}</p>}
      {waiting > 0 && (
        <p className="queued" data-testid="queued-count">
          <Link href="/me">{t('app.queued', { count: waiting })}</Link>
        </p>
      )}
      {sent > 0 && waiting === 0 && <p className="sent">{t('app.sent_queued', { count: sent })}</p>}
    </div>
  );
}
