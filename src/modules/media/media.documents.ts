import { open, type FileHandle } from 'node:fs/promises';
import { MediaRejected } from './media.kinds.js';

/**
 * PDFs are stored and served as uploaded: never re-encoded (rewriting a PDF safely would take a
 * full PDF library, and a sworn statement should reach the municipality byte for byte), always
 * served as a download (Content-Disposition: attachment, X-Content-Type-Options: nosniff), so a
 * browser never renders one inside our origin. The checks here only make sure the file is what
 * it claims to be: a PDF from its header to its %%EOF, not something else wearing a PDF header.
 */

/** the look-around at both ends, as PDF readers use it */
const HEAD_BYTES = 1024;
const TAIL_BYTES = 1024;
/** trailing whitespace tolerated after %%EOF before we stop looking */
const MAX_TRAILING_WHITESPACE = 8 * 1024;

/**
 * Markup a browser would act on if it ever sniffed the file as HTML: a polyglot PDF/HTML is
 * aimed at browsers, not at PDF readers, and has no business being uploaded.
 */
const BROWSER_MARKUP = ['<html', '<script', '<svg', '<!doctype html', '<body', '<iframe'];

/** PDF white-space characters (ISO 32000-1 §7.2.2) */
const PDF_WHITESPACE: ReadonlySet<number> = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);

const EOF_MARKER = Buffer.from('%%EOF', 'latin1');

/**
 * Throws MediaRejected('unreadable') unless the file at `path` starts with `%PDF-1.` or `%PDF-2.`,
 * ends (give or take trailing white space) with `%%EOF` in its last 1024 bytes, and has no HTML,
 * script or SVG markup in its first 1024 bytes.
 */
export async function checkPdf(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = await readAt(handle, 0, Math.min(HEAD_BYTES, size));
    const version = head.toString('latin1', 0, 7);
    if (version !== '%PDF-1.' && version !== '%PDF-2.') throw refused('it does not start with a PDF header');
    const headText = head.toString('latin1').toLowerCase();
    const markup = BROWSER_MARKUP.find((m) => headText.includes(m));
    if (markup) throw refused(`its first bytes contain ${markup}`);

    const tailStart = Math.max(0, size - MAX_TRAILING_WHITESPACE - TAIL_BYTES);
    const tail = await readAt(handle, tailStart, size - tailStart);
    let end = tail.length;
    while (end > 0 && PDF_WHITESPACE.has(tail[end - 1] as number)) end--;
    if (end === 0) throw refused('it is empty or ends in nothing but white space');
    if (tail.subarray(Math.max(0, end - TAIL_BYTES), end).indexOf(EOF_MARKER) === -1) {
      throw refused('there is no %%EOF at its end (truncated, or something appended)');
    }
  } finally {
    await handle.close();
  }
}

function refused(why: string): MediaRejected {
  return new MediaRejected('unreadable', `not a PDF: ${why}`);
}

async function readAt(handle: FileHandle, at: number, length: number): Promise<Buffer> {
  const bytes = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(bytes, filled, length - filled, at + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}
