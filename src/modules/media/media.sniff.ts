import { fileTypeFromBuffer } from 'file-type';
import { SNIFF_BYTES, type MediaKind, type SniffedType } from './media.kinds.js';

/**
 * What file-type may answer for an upload we keep, keyed by its `mime` and, where one MIME type
 * covers several containers, its `ext`. Everything else (SVG and other XML, HTML, GIF, ZIP,
 * executables, scripts, plain text, empty input) is refused: an allowlist, because a format we
 * did not think about is a format we do not know how to make safe.
 *
 * Video: only what file-type calls ISO BMFF `mp4` (major brands isom, iso2…, mp41, mp42, avc1,
 * dash and the like) and WebM: the two containers every browser plays. Refused on purpose:
 *  - QuickTime (`qt  `), the container of iPhone originals: same box structure, but Chrome and
 *    Firefox do not promise to play it, and its metadata lives in QuickTime-only atoms;
 *  - 3GP/3G2 (`3gp*`, `3g2*`): ISO BMFF as well, but made by old phones and MMS with H.263/AMR,
 *    codecs no browser plays, so we would store what nobody can watch;
 *  - M4V/M4P/F4V/F4P: Apple's iTunes and Adobe Flash brands (M4P is DRM-protected), which
 *    file-type also labels video/mp4 or video/x-m4v; a phone or browser does not record them.
 */
const ALLOWED: ReadonlyArray<{ mime: string; ext?: string; kind: MediaKind }> = [
  { mime: 'image/jpeg', kind: 'image' },
  { mime: 'image/png', kind: 'image' },
  { mime: 'image/webp', kind: 'image' },
  // the HEIF family: file-type answers by the ftyp major brand (heic/heix, mif1, avif)
  { mime: 'image/heic', kind: 'image' },
  { mime: 'image/heif', kind: 'image' },
  { mime: 'image/avif', kind: 'image' },
  { mime: 'video/mp4', ext: 'mp4', kind: 'video' },
  { mime: 'video/webm', ext: 'webm', kind: 'video' },
  { mime: 'application/pdf', ext: 'pdf', kind: 'document' },
];

const PDF_MAGIC = Buffer.from('%PDF-', 'latin1');

/**
 * The upload's type from its first bytes alone (never its name or the client's Content-Type), or
 * null when it is not one we accept. Only the first SNIFF_BYTES are looked at, so a caller can
 * pass the head of a stream.
 */
export async function sniffType(head: Uint8Array): Promise<SniffedType | null> {
  const sample = head.subarray(0, SNIFF_BYTES);
  if (sample.length === 0) return null;
  const detected = await fileTypeFromBuffer(sample);
  if (!detected) return null;
  const rule = ALLOWED.find((r) => r.mime === detected.mime && (r.ext === undefined || r.ext === detected.ext));
  if (!rule) return null;
  // file-type settles for "%PDF"; a PDF proper starts "%PDF-" at offset 0 (and checkPdf goes on)
  if (rule.kind === 'document' && !PDF_MAGIC.every((byte, i) => sample[i] === byte)) return null;
  return { kind: rule.kind, contentType: detected.mime };
}
