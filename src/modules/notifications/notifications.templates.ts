import { t, type Lang } from '../../i18n/i18n.js';
import type { NotificationKind } from './notifications.rules.js';

/**
 * The messages, in English and Afrikaans: a subject, a plain-text body and an HTML body from the
 * same parts. Everything a person typed (titles, comments, names) is escaped in the HTML and has
 * line breaks removed from subjects.
 */
export interface MessageFacts {
  kind: NotificationKind;
  reference: string;
  title: string;
  /** status moves */
  from?: string;
  to?: string;
  /** a public comment, shortened */
  excerpt?: string;
  /** an SLA escalation: which target was missed (acknowledge, resolve) */
  slaKind?: string;
  /** an emergency alert: the level it reached (1 on-duty responders … 3 admins) */
  level?: number;
  /** an area alert: where, [lon, lat] — a sensitive report's blurred cell, never its exact place */
  location?: [number, number];
  approximate?: boolean;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

interface Texts {
  hello: (name: string) => string;
  subject: Record<NotificationKind, (f: MessageFacts, status: (s: string) => string) => string>;
  lead: Record<NotificationKind, (f: MessageFacts, status: (s: string) => string) => string>;
  view: string;
  why: Record<NotificationKind, string>;
  sla: (kind: string | undefined) => string;
  unsubscribe: string;
  preferences: string;
  digestSubject: (count: number) => string;
  digestLead: (count: number) => string;
  digestWhy: string;
}

const TEXTS: Record<Lang, Texts> = {
  en: {
    hello: (name) => `Hello ${name},`,
    subject: {
      status_changed: (f, s) => `[${f.reference}] ${s(f.to ?? '')}: ${f.title}`,
      commented: (f) => `[${f.reference}] New comment: ${f.title}`,
      new_report: (f) => `[${f.reference}] New report in your community: ${f.title}`,
      assigned: (f) => `[${f.reference}] Assigned to you: ${f.title}`,
      escalated: (f) => `[${f.reference}] Overdue: ${f.title}`,
      emergency: (f) => `EMERGENCY [${f.reference}] ${f.title}`,
      area_alert: (f) => `[${f.reference}] New report in your alert area: ${f.title}`,
    },
    lead: {
      status_changed: (f, s) => `The status of "${f.title}" changed from ${s(f.from ?? '')} to ${s(f.to ?? '')}.`,
      commented: (f) => `There is a new comment on "${f.title}":`,
      new_report: (f) => `"${f.title}" was just reported in a community you look after.`,
      assigned: (f) => `"${f.title}" was assigned to you.`,
      escalated: (f) => `"${f.title}" is overdue: the target to ${TEXTS.en.sla(f.slaKind)} it has passed.`,
      emergency: (f) =>
        `Emergency: "${f.title}" needs a responder now.` +
        ((f.level ?? 1) > 1 ? ` Nobody has acknowledged it yet (alert level ${f.level}).` : '') +
        ' Open it and acknowledge the alert so it stops escalating.',
      area_alert: (f) =>
        `"${f.title}" was just reported in an area you asked to hear about.` +
        (f.location
          ? ` Where: ${place(f.location)}${f.approximate ? ' (approximate: within about 250 m, to protect those involved)' : ''}.`
          : ''),
    },
    view: 'View the incident',
    why: {
      status_changed: 'You get this because you follow this incident or reported it.',
      commented: 'You get this because you follow this incident or reported it.',
      new_report: 'You get this because you are staff of this community.',
      assigned: 'You get this because an incident was assigned to you.',
      escalated: 'You get this because the incident is assigned to you or you moderate its community.',
      emergency: 'You get this because you are staff for emergencies in this community.',
      area_alert: 'You get this because you set up an area alert. The link below removes that alert.',
    },
    sla: (kind) => (kind === 'acknowledge' ? 'acknowledge' : 'resolve'),
    unsubscribe: 'Unsubscribe from these emails',
    preferences: 'Choose what you get in your notification settings.',
    digestSubject: (n) => `${n} updates on incidents you follow`,
    digestLead: (n) => `A lot happened at once, so here are ${n} updates in one message:`,
    digestWhy: 'You get this because you follow these incidents, reported them or look after their community.',
  },
  af: {
    hello: (name) => `Hallo ${name},`,
    subject: {
      status_changed: (f, s) => `[${f.reference}] ${s(f.to ?? '')}: ${f.title}`,
      commented: (f) => `[${f.reference}] Nuwe kommentaar: ${f.title}`,
      new_report: (f) => `[${f.reference}] Nuwe verslag in jou gemeenskap: ${f.title}`,
      assigned: (f) => `[${f.reference}] Aan jou toegewys: ${f.title}`,
      escalated: (f) => `[${f.reference}] Agterstallig: ${f.title}`,
      emergency: (f) => `NOODGEVAL [${f.reference}] ${f.title}`,
      area_alert: (f) => `[${f.reference}] Nuwe verslag in jou waarskuwingsgebied: ${f.title}`,
    },
    lead: {
      status_changed: (f, s) => `Die status van "${f.title}" het verander van ${s(f.from ?? '')} na ${s(f.to ?? '')}.`,
      commented: (f) => `Daar is nuwe kommentaar op "${f.title}":`,
      new_report: (f) => `"${f.title}" is pas aangemeld in 'n gemeenskap waarvoor jy sorg.`,
      assigned: (f) => `"${f.title}" is aan jou toegewys.`,
      escalated: (f) => `"${f.title}" is agterstallig: die teiken om dit te ${TEXTS.af.sla(f.slaKind)} is verby.`,
      emergency: (f) =>
        `Noodgeval: "${f.title}" het nou 'n reageerder nodig.` +
        ((f.level ?? 1) > 1 ? ` Niemand het dit nog erken nie (alarmvlak ${f.level}).` : '') +
        ' Maak dit oop en erken die alarm sodat dit ophou eskaleer.',
      area_alert: (f) =>
        `"${f.title}" is pas aangemeld in 'n gebied waaroor jy wil hoor.` +
        (f.location
          ? ` Waar: ${place(f.location)}${f.approximate ? ' (benaderd: binne sowat 250 m, om die betrokkenes te beskerm)' : ''}.`
          : ''),
    },
    view: 'Bekyk die voorval',
    why: {
      status_changed: 'Jy kry dit omdat jy hierdie voorval volg of dit aangemeld het.',
      commented: 'Jy kry dit omdat jy hierdie voorval volg of dit aangemeld het.',
      new_report: 'Jy kry dit omdat jy personeel van hierdie gemeenskap is.',
      assigned: "Jy kry dit omdat 'n voorval aan jou toegewys is.",
      escalated: 'Jy kry dit omdat die voorval aan jou toegewys is of jy die gemeenskap modereer.',
      emergency: 'Jy kry dit omdat jy personeel vir noodgevalle in hierdie gemeenskap is.',
      area_alert:
        "Jy kry dit omdat jy 'n gebiedswaarskuwing opgestel het. Die skakel hieronder verwyder daardie waarskuwing.",
    },
    sla: (kind) => (kind === 'acknowledge' ? 'erken' : 'op te los'),
    unsubscribe: 'Teken uit van hierdie e-posse',
    preferences: 'Kies wat jy kry in jou kennisgewing-instellings.',
    digestSubject: (n) => `${n} opdaterings oor voorvalle wat jy volg`,
    digestLead: (n) => `Baie het gelyktydig gebeur, so hier is ${n} opdaterings in een boodskap:`,
    digestWhy: 'Jy kry dit omdat jy hierdie voorvalle volg, dit aangemeld het of vir hul gemeenskap sorg.',
  },
};

/** latitude, longitude: the order people read and type into a map search */
export function place([lon, lat]: [number, number]): string {
  return `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A header may not break into a second header: line breaks become spaces, length is capped. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').slice(0, 200);
}

function statusLabel(lang: Lang): (status: string) => string {
  return (status) => {
    try {
      return t(lang, `status.${status}` as Parameters<typeof t>[1]);
    } catch {
      return status;
    }
  };
}

/** A comment's first lines, as the message shows it. */
export function excerpt(body: string, max = 500): string {
  const trimmed = body.trim();
  return trimmed.length > max ? `${trimmed.slice(0, max - 1)}…` : trimmed;
}

export function renderMail(
  lang: Lang,
  facts: MessageFacts,
  links: { incident: string; unsubscribe: string },
  recipientName: string,
): RenderedMail {
  const texts = TEXTS[lang];
  const status = statusLabel(lang);
  const lead = texts.lead[facts.kind](facts, status);
  const quote = facts.excerpt ? facts.excerpt : null;
  const text = [
    texts.hello(recipientName),
    '',
    lead,
    ...(quote ? ['', ...quote.split('\n').map((l) => `> ${l}`)] : []),
    '',
    `${texts.view}: ${links.incident}`,
    '',
    '-- ',
    texts.why[facts.kind],
    texts.preferences,
    `${texts.unsubscribe}: ${links.unsubscribe}`,
  ].join('\n');
  const html = layout(
    lang,
    [
      `<p>${escapeHtml(texts.hello(recipientName))}</p>`,
      `<p>${escapeHtml(lead)}</p>`,
      quote ? `<blockquote>${escapeHtml(quote).replace(/\n/g, '<br>')}</blockquote>` : '',
      `<p><a href="${escapeHtml(links.incident)}">${escapeHtml(texts.view)}</a></p>`,
    ].join('\n'),
    texts.why[facts.kind],
    texts,
    links.unsubscribe,
  );
  return { subject: oneLine(texts.subject[facts.kind](facts, status)), text, html };
}

export function renderDigest(
  lang: Lang,
  items: Array<{ facts: MessageFacts; incidentUrl: string }>,
  unsubscribeUrl: string,
  recipientName: string,
): RenderedMail {
  const texts = TEXTS[lang];
  const status = statusLabel(lang);
  const lines = items.map((item) => ({
    subject: oneLine(texts.subject[item.facts.kind](item.facts, status)),
    url: item.incidentUrl,
  }));
  const text = [
    texts.hello(recipientName),
    '',
    texts.digestLead(items.length),
    '',
    ...lines.map((l) => `* ${l.subject}\n  ${l.url}`),
    '',
    '-- ',
    texts.digestWhy,
    texts.preferences,
    `${texts.unsubscribe}: ${unsubscribeUrl}`,
  ].join('\n');
  const html = layout(
    lang,
    [
      `<p>${escapeHtml(texts.hello(recipientName))}</p>`,
      `<p>${escapeHtml(texts.digestLead(items.length))}</p>`,
      '<ul>',
      ...lines.map((l) => `<li><a href="${escapeHtml(l.url)}">${escapeHtml(l.subject)}</a></li>`),
      '</ul>',
    ].join('\n'),
    texts.digestWhy,
    texts,
    unsubscribeUrl,
  );
  return { subject: oneLine(texts.digestSubject(items.length)), text, html };
}

/** The short text of a push message or an in-app line: the subject. */
export function renderShort(lang: Lang, facts: MessageFacts): string {
  return oneLine(TEXTS[lang].subject[facts.kind](facts, statusLabel(lang)));
}

function layout(lang: Lang, body: string, why: string, texts: Texts, unsubscribeUrl: string): string {
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>Buurtwag</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
${body}
<hr>
<p style="color: #555; font-size: 0.9em">${escapeHtml(why)} ${escapeHtml(texts.preferences)}<br>
<a href="${escapeHtml(unsubscribeUrl)}">${escapeHtml(texts.unsubscribe)}</a></p>
</body></html>`;
}

const PAGE: Record<Lang, { title: string; text: string; button: string }> = {
  en: {
    title: 'Unsubscribe',
    text: 'Stop these emails from Buurtwag? You can switch them on again in your notification settings.',
    button: 'Unsubscribe',
  },
  af: {
    title: 'Teken uit',
    text: 'Wil jy ophou om hierdie e-posse van Buurtwag te kry? Jy kan dit weer aanskakel in jou kennisgewing-instellings.',
    button: 'Teken uit',
  },
};

/** The unsubscribe link's page: one button that POSTs (the GET itself changes nothing). */
export function unsubscribePage(lang: Lang, action: string): string {
  const p = PAGE[lang];
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>${escapeHtml(p.title)}</title></head>
<body style="font-family: sans-serif">
<h1>${escapeHtml(p.title)}</h1>
<p>${escapeHtml(p.text)}</p>
<form method="post" action="${action}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">${escapeHtml(p.button)}</button>
</form>
</body></html>`;
}
