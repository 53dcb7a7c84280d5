import { api } from '../api/client';
import type { Lang } from '../i18n/i18n';
import { getSession, updateUser } from './session';

/**
 * The language is kept per account: a signed-in person's choice is saved on the server, so the
 * next sign-in (on any device) opens in it. Signed out, the choice stays in this browser only.
 * Offline or refused, the page still switches; the account keeps its old language.
 */
export async function saveAccountLang(lang: Lang): Promise<boolean> {
  const session = getSession();
  if (!session || session.user.locale === lang) return false;
  const { data } = await api.PATCH('/api/v1/me', { body: { locale: lang } }).catch(() => ({ data: undefined }));
  if (!data) return false;
  updateUser({ ...session.user, locale: data.locale, displayName: data.displayName, roles: data.roles });
  return true;
}
