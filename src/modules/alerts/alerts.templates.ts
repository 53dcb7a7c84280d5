import { pick, type Lang } from '../../i18n/i18n.js';
import { escapeHtml, place, type RenderedMail } from '../notifications/notifications.templates.js';

export interface DigestEntry {
  reference: string;
  title: string;
  category: Record<string, string>;
  /** [lon, lat]: a sensitive report's blurred cell */
  location: [number, number];
  approximate: boolean;
  url: string;
}

export interface DigestAlert {
  /** a community's name, or null for a circle */
  community: string | null;
  radius: number | null;
  center: [number, number] | null;
  removeUrl: string;
}

const TEXTS = {
  en: {
    hello: (name: string) => `Hello ${name},`,
    subject: (n: number) =>
      n === 1 ? 'Your daily area alert: 1 new report' : `Your daily area alert: ${n} new reports`,
    lead: (n: number) =>
      n === 1
        ? 'This report was made yesterday in an area you asked to hear about:'
        : `These ${n} reports were made yesterday in areas you asked to hear about:`,
    approximate: 'approximate location, to protect those involved',
    alerts: 'Your daily alerts (each link removes that alert):',
    community: (name: string) => `Remove the alert for ${name}`,
    circle: (r: number, p: string) => `Remove the alert within ${r} m of ${p}`,
    why: 'You get this once a day because you set up a daily area alert.',
    stop: 'Stop area alert emails',
  },
  af: {
    hello: (name: string) => `Hallo ${name},`,
    subject: (n: number) =>
      n === 1
        ? 'Jou daaglikse gebiedswaarskuwing: 1 nuwe verslag'
        : `Jou daaglikse gebiedswaarskuwing: ${n} nuwe verslae`,
    lead: (n: number) =>
      n === 1
        ? "Hierdie verslag is gister gemaak in 'n gebied waaroor jy wil hoor:"
        : `Hierdie ${n} verslae is gister gemaak in gebiede waaroor jy wil hoor:`,
    approximate: 'benaderde ligging, om die betrokkenes te beskerm',
    alerts: 'Jou daaglikse waarskuwings (elke skakel verwyder daardie waarskuwing):',
    community: (name: string) => `Verwyder die waarskuwing vir ${name}`,
    circle: (r: number, p: string) => `Verwyder die waarskuwing binne ${r} m van ${p}`,
    why: "Jy kry dit een keer per dag omdat jy 'n daaglikse gebiedswaarskuwing opgestel het.",
    stop: 'Hou op met gebiedswaarskuwing-e-posse',
  },
} satisfies Record<Lang, unknown>;

/** One mail with the day's matches, HTML and text, in the person's language. */
export function renderAlertDigest(
  lang: Lang,
  recipientName: string,
  entries: DigestEntry[],
  alerts: DigestAlert[],
  stopUrl: string,
): RenderedMail {
  const x = TEXTS[lang];
  const line = (e: DigestEntry) =>
    `[${e.reference}] ${e.title} (${pick(e.category, lang)}) — ${place(e.location)}${e.approximate ? ` (${x.approximate})` : ''}`;
  const label = (a: DigestAlert) =>
    a.community !== null ? x.community(a.community) : x.circle(a.radius ?? 0, a.center ? place(a.center) : '');
  const text = [
    x.hello(recipientName),
    '',
    x.lead(entries.length),
    '',
    ...entries.map((e) => `* ${line(e)}\n  ${e.url}`),
    '',
    '-- ',
    x.why,
    x.alerts,
    ...alerts.map((a) => `${label(a)}: ${a.removeUrl}`),
    `${x.stop}: ${stopUrl}`,
  ].join('\n');
  const html = `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>Buurtwag</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>${escapeHtml(x.hello(recipientName))}</p>
<p>${escapeHtml(x.lead(entries.length))}</p>
<ul>
${entries.map((e) => `<li><a href="${escapeHtml(e.url)}">${escapeHtml(line(e))}</a></li>`).join('\n')}
</ul>
<hr>
<p style="color: #555; font-size: 0.9em">${escapeHtml(x.why)}<br>${escapeHtml(x.alerts)}</p>
<ul style="color: #555; font-size: 0.9em">
${alerts.map((a) => `<li><a href="${escapeHtml(a.removeUrl)}">${escapeHtml(label(a))}</a></li>`).join('\n')}
<li><a href="${escapeHtml(stopUrl)}">${escapeHtml(x.stop)}</a></li>
</ul>
</body></html>`;
  return { subject: x.subject(entries.length).replace(/[\r\n\t]+/g, ' '), text, html };
}
