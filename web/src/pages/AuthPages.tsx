import { useState, type FormEvent, type ReactNode } from 'react';
import { api, problemText } from '../api/client';
import { setSession } from '../auth/session';
import { useI18n } from '../i18n/I18nProvider';
import { isLang } from '../i18n/i18n';
import { live } from '../realtime/live';
import { Link, navigate } from '../router';

/** Where to go after signing in: ?next=/path on this site only. */
function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next') ?? '/';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

function AuthForm({
  title,
  submitLabel,
  onSubmit,
  children,
  footer,
}: {
  title: string;
  submitLabel: string;
  onSubmit: () => Promise<string | null>;
  children: ReactNode;
  footer: ReactNode;
}) {
  const { t } = useI18n();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const problem = await onSubmit().catch(() => t('app.error'));
    setBusy(false);
    if (problem) setError(problem);
  };
  return (
    <form className="page narrow auth" onSubmit={submit}>
      <h1>{title}</h1>
      {children}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? t('auth.busy') : submitLabel}
      </button>
      <p role="alert">{error}</p>
      <p>{footer}</p>
    </form>
  );
}

export function SignInPage() {
  const { t, setLang } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  return (
    <AuthForm
      title={t('auth.signin_title')}
      submitLabel={t('auth.signin_go')}
      onSubmit={async () => {
        const { data, error } = await api.POST('/api/v1/auth/login', { body: { email, password } });
        if (!data) return problemText(error, t('app.error'));
        setSession(data);
        // the account's language follows the person to every device
        if (isLang(data.user.locale)) setLang(data.user.locale);
        live.reconnect();
        navigate(nextPath(), { replace: true });
        return null;
      }}
      footer={
        <>
          {t('auth.no_account')} <Link href={`/register${location.search}`}>{t('nav.register')}</Link>
        </>
      }
    >
      <label htmlFor="email">{t('auth.email')}</label>
      <input
        id="email"
        type="email"
        autoComplete="email"
        required
        value={email}
        onChange={(e) => setEmail(e.currentTarget.value)}
      />
      <label htmlFor="password">{t('auth.password')}</label>
      <input
        id="password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.currentTarget.value)}
      />
    </AuthForm>
  );
}

export function RegisterPage() {
  const { t, lang } = useI18n();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [terms, setTerms] = useState(false);
  return (
    <AuthForm
      title={t('auth.register_title')}
      submitLabel={t('auth.register_go')}
      onSubmit={async () => {
        const { data, error } = await api.POST('/api/v1/auth/register', {
          body: { email, password, displayName: name, locale: lang, acceptTerms: terms },
        });
        if (!data) return problemText(error, t('app.error'));
        setSession(data);
        live.reconnect();
        navigate(nextPath(), { replace: true });
        return null;
      }}
      footer={
        <>
          {t('auth.have_account')} <Link href={`/signin${location.search}`}>{t('nav.signin')}</Link>
        </>
      }
    >
      <label htmlFor="name">{t('auth.name')}</label>
      <input
        id="name"
        autoComplete="name"
        required
        maxLength={100}
        value={name}
        aria-describedby="name-hint"
        onChange={(e) => setName(e.currentTarget.value)}
      />
      <small id="name-hint">{t('auth.name_hint')}</small>
      <label htmlFor="email">{t('auth.email')}</label>
      <input
        id="email"
        type="email"
        autoComplete="email"
        required
        value={email}
        onChange={(e) => setEmail(e.currentTarget.value)}
      />
      <label htmlFor="password">{t('auth.password')}</label>
      <input
        id="password"
        type="password"
        autoComplete="new-password"
        required
        minLength={10}
        value={password}
        aria-describedby="password-hint"
        onChange={(e) => setPassword(e.currentTarget.value)}
      />
      <small id="password-hint">{t('auth.password_hint')}</small>
      <label className="check">
        <input type="checkbox" required checked={terms} onChange={(e) => setTerms(e.currentTarget.checked)} />{' '}
        {t('auth.terms')}
      </label>
    </AuthForm>
  );
}
