import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { problemText } from '../api/client';
import { useI18n } from '../i18n/I18nProvider';

/** What an API call gave back (openapi-fetch's shape): data, or the problem+json. */
export interface Answer<T> {
  data?: T;
  error?: unknown;
  response?: Response;
}

/**
 * Loads something for an admin page and loads it again on demand (after a change). `error` is
 * the server's own words, in the page's language.
 */
export function useLoad<T>(
  load: () => Promise<Answer<T>>,
  deps: readonly unknown[],
): { data: T | null; error: string; loading: boolean; reload: () => void } {
  const { t } = useI18n();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  // the caller names what the load depends on (as with useEffect)
  const run = useCallback(load, deps);
  useEffect(() => {
    let live = true;
    setLoading(true);
    run().then(
      (answer) => {
        if (!live) return;
        if (answer.data !== undefined) {
          setData(answer.data);
          setError('');
        } else setError(problemText(answer.error, t('app.error')));
        setLoading(false);
      },
      () => {
        if (!live) return;
        setError(t('app.error'));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [run, tick, t]);
  return { data, error, loading, reload: () => setTick((n) => n + 1) };
}

/**
 * Runs a change (a form, a button): `busy` while it runs; afterwards `message` says it worked or
 * `error` says why not. Returns the data, or null when it failed.
 */
export function useAction(): {
  busy: boolean;
  error: string;
  message: string;
  run: <T>(call: () => Promise<Answer<T>>, done?: string) => Promise<T | null>;
  clear: () => void;
} {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [message, setMessage] = useState('');
  const run = async <T,>(call: () => Promise<Answer<T>>, done = ''): Promise<T | null> => {
    setBusy(true);
    setError('');
    setMessage('');
    try {
      const answer = await call();
      if (answer.error !== undefined || answer.data === undefined) {
        // a 204 has no body: openapi-fetch gives data undefined and no error (as it does for an
        // empty failure, hence the status)
        if (answer.error === undefined && answer.response?.ok !== false) {
          setMessage(done);
          return {} as T;
        }
        setError(problemText(answer.error, t('app.error')));
        return null;
      }
      setMessage(done);
      return answer.data;
    } catch {
      setError(t('app.error'));
      return null;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, message, run, clear: () => (setError(''), setMessage('')) };
}

/** The outcome of the last change: a polite status, or an alert. Always in the page, so it is announced. */
export function Outcome({ error, message }: { error: string; message: string }) {
  return (
    <>
      <p role="alert" className="field-error">
        {error}
      </p>
      <p role="status" className="notice-line">
        {message}
      </p>
    </>
  );
}

export function Loading({ loading, error }: { loading: boolean; error: string }) {
  const { t } = useI18n();
  if (error) return <p role="alert">{error}</p>;
  return loading ? <p className="muted">{t('app.loading')}</p> : null;
}

/** A text in English and in Afrikaans, side by side on a wide screen. */
export function TwoLanguages({
  id,
  legend,
  value,
  onChange,
  required = false,
  multiline = false,
}: {
  id: string;
  legend: string;
  value: { en: string; af: string };
  onChange: (value: { en: string; af: string }) => void;
  required?: boolean;
  multiline?: boolean;
}) {
  const { t } = useI18n();
  const field = (lang: 'en' | 'af') => {
    const props = {
      id: `${id}-${lang}`,
      lang,
      value: value[lang],
      required: required && lang === 'en',
      onChange: (e: { currentTarget: { value: string } }) => onChange({ ...value, [lang]: e.currentTarget.value }),
    };
    return (
      <div>
        <label htmlFor={props.id}>
          {t(`lang.${lang}`)}
          {required && lang === 'en' ? ` ${t('admin.required')}` : ''}
        </label>
        {multiline ? <textarea rows={3} {...props} /> : <input type="text" {...props} />}
      </div>
    );
  };
  return (
    <fieldset className="inner two-lang">
      <legend>{legend}</legend>
      {field('en')}
      {field('af')}
    </fieldset>
  );
}

/** A dialog-less "are you sure": the button asks once more in its own label. */
export function ConfirmButton({
  label,
  confirmLabel,
  onConfirm,
  disabled,
}: {
  label: string;
  confirmLabel: string;
  onConfirm: () => void;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const ref = useRef<HTMLButtonElement>(null);
  return (
    <button
      ref={ref}
      type="button"
      className="secondary"
      disabled={disabled}
      onBlur={() => setAsking(false)}
      onClick={() => {
        if (asking) {
          setAsking(false);
          onConfirm();
        } else setAsking(true);
      }}
    >
      {asking ? confirmLabel : label}
    </button>
  );
}

export function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="admin-section" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** Both languages of a text for an API body: af left out when empty (the server wants it absent, not blank). */
export function translations(value: { en: string; af: string }): { en: string; af?: string } {
  const af = value.af.trim();
  return { en: value.en.trim(), ...(af ? { af } : {}) };
}
