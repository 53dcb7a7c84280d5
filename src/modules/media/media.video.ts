import { open, type FileHandle } from 'node:fs/promises';
import { MediaRejected } from './media.kinds.js';

/**
 * Videos are not re-encoded (that would take minutes and a codec library); instead the metadata
 * where phones and cameras put the location and the device is overwritten in place. Every
 * change keeps each byte where it was: a metadata box or element is renamed to its format's
 * padding type (`free` in ISO BMFF, `Void` in Matroska) and its content zero-filled, so the
 * sample offsets in the index (stco/co64, Cues, SeekHead) still point at the same bytes and the
 * video plays as before.
 *
 * The file is read with positioned reads of a few bytes per box or element, never whole (it may
 * be 100 MB); only an MP4's `moov` index is read at once, and only when it is at most 64 MB.
 * Every change is planned while the file is walked and written only once the whole file has been
 * found sound, so a refused file is left as it came.
 *
 * Not covered: data inside the media itself. A GPS track (GoPro's GPMF, some dashcams' and
 * drones' timed-metadata or subtitle tracks) is a track like any other and is kept.
 */

/**
 * Removes the location and device metadata of the MP4 or WebM at `path`, in place. Throws
 * MediaRejected('unreadable') when the container's structure is not sound (including bytes
 * appended after it), in which case the file is not changed.
 */
export async function scrubVideo(path: string, contentType: 'video/mp4' | 'video/webm'): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const file = new PositionedFile(handle, (await handle.stat()).size);
    const patches = contentType === 'video/mp4' ? await planMp4(file) : await planWebm(file);
    for (const patch of patches) await file.overwrite(patch);
  } finally {
    await handle.close();
  }
}

/** `length` bytes at `at` become `head` followed by zeros */
interface Patch {
  at: number;
  length: number;
  head: Buffer;
}

function unreadable(why: string): MediaRejected {
  return new MediaRejected('unreadable', `video is not well-formed: ${why}`);
}

const READ_WINDOW = 16 * 1024;
const ZEROS = Buffer.alloc(64 * 1024);

/** Positioned reads through a small window, so walking many small headers is not one syscall each. */
class PositionedFile {
  #window = Buffer.alloc(0);
  #windowAt = 0;

  constructor(
    readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** exactly `length` bytes at `at`; a read past the end means the structure lied about a size */
  async read(at: number, length: number): Promise<Buffer> {
    if (at < 0 || length < 0 || at + length > this.size) throw unreadable(`${length} bytes at ${at} run past the end`);
    if (at >= this.#windowAt && at + length <= this.#windowAt + this.#window.length) {
      return this.#window.subarray(at - this.#windowAt, at - this.#windowAt + length);
    }
    const wanted = Math.min(Math.max(length, READ_WINDOW), this.size - at);
    const bytes = Buffer.alloc(wanted);
    let filled = 0;
    while (filled < wanted) {
      const { bytesRead } = await this.handle.read(bytes, filled, wanted - filled, at + filled);
      if (bytesRead === 0) throw unreadable('the file is shorter than it was');
      filled += bytesRead;
    }
    if (wanted <= READ_WINDOW) {
      this.#window = bytes;
      this.#windowAt = at;
    }
    return bytes.subarray(0, length);
  }

  async overwrite(patch: Patch): Promise<void> {
    await this.handle.write(patch.head, 0, patch.head.length, patch.at);
    for (let at = patch.at + patch.head.length; at < patch.at + patch.length; at += ZEROS.length) {
      await this.handle.write(ZEROS, 0, Math.min(ZEROS.length, patch.at + patch.length - at), at);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// MP4 (ISO BMFF)

/**
 * Top-level boxes a player needs or that carry nothing about the author; any other top-level box
 * (`udta`, `meta`, `uuid` with XMP, a vendor's own) is turned into `free`: no player reads an
 * unknown top-level box, so nothing is lost.
 */
const MP4_TOP_LEVEL_KEPT: ReadonlySet<string> = new Set([
  'ftyp',
  'moov',
  'mdat',
  'free',
  'skip',
  'wide',
  'pdin',
  'moof',
  'mfra',
  'sidx',
  'ssix',
  'styp',
  'prft',
  'emsg',
]);

/**
 * What may stay inside each box of moov that we walk: the boxes a player needs to find and
 * decode the samples (ISO/IEC 14496-12 names them all). Anything else is turned into `free`
 * whole: user data (`udta`: ©xyz GPS, ©mak, ©mod, ©swr, vendors' atoms), `meta` (Apple's
 * keys/ilst location and make, iTunes tags), `uuid` (XMP, Sony's and others' blocks) and whatever
 * a vendor invented (some dashcams index their GPS records from a box of their own). A player
 * skips a box it does not know, so blanking one loses nothing it would have used. Blanked boxes
 * are never parsed, which also spares us `meta`'s two layouts (a FullBox with 4 bytes of version
 * and flags before its children in ISO, plain children in QuickTime).
 *
 * The boxes listed as keys are walked; the tree has no cycle, so the walk is at most five deep.
 */
const MP4_KEPT_CHILDREN: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries({
    moov: ['mvhd', 'trak', 'mvex', 'iods', 'pssh'],
    trak: ['tkhd', 'tref', 'trgr', 'edts', 'mdia', 'tapt'],
    edts: ['elst'],
    mdia: ['mdhd', 'hdlr', 'minf', 'elng'],
    minf: ['vmhd', 'smhd', 'hmhd', 'nmhd', 'sthd', 'gmhd', 'hdlr', 'dinf', 'stbl'],
    dinf: ['dref'],
    // stsd (sample descriptions: the codec configuration) is kept whole, not walked
    stbl: [
      ...['stsd', 'stts', 'ctts', 'cslg', 'stsc', 'stsz', 'stz2', 'stco', 'co64', 'stss'],
      ...['stsh', 'padb', 'stdp', 'sdtp', 'sbgp', 'sgpd', 'subs', 'saiz', 'saio'],
    ],
    mvex: ['mehd', 'trex', 'leva', 'trep'],
  }).map(([parent, children]) => [parent, new Set(children)]),
);

/** moov of a 100 MB phone video is well under a megabyte; 64 MB leaves room for hours of samples */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;
/** a fragmented MP4 has a moof and an mdat per second or so; millions of boxes is a file built to stall us */
const MAX_TOP_LEVEL_BOXES = 100_000;

interface Mp4Box {
  type: string;
  /** offset in the file */
  at: number;
  /** header bytes: size (+ largesize) + type (+ uuid's 16-byte user type) */
  headerSize: number;
  size: number;
  /** how the size was written: 'to-end' (0) and 'large' (1 + 64-bit) must be kept as they were */
  sizeForm: 'plain' | 'large' | 'to-end';
}

async function planMp4(file: PositionedFile): Promise<Patch[]> {
  const boxes: Mp4Box[] = [];
  // the top-level boxes must tile the file exactly: a gap, an overrun or anything appended
  // after the last box (a polyglot's second half) is refused
  for (let at = 0; at < file.size;) {
    const box = parseBoxHeader(await file.read(at, Math.min(32, file.size - at)), 0, file.size - at, at, true);
    boxes.push(box);
    if (boxes.length > MAX_TOP_LEVEL_BOXES) throw unreadable('too many boxes');
    at += box.size;
  }
  if (boxes[0]?.type !== 'ftyp') throw unreadable('it does not start with ftyp');
  const moovs = boxes.filter((b) => b.type === 'moov');
  if (moovs.length !== 1) throw unreadable(`${moovs.length} moov boxes`);
  const moov = moovs[0] as Mp4Box;
  if (moov.size > MAX_MOOV_BYTES) throw unreadable(`moov is ${moov.size} bytes`);

  const patches = boxes.filter((b) => !MP4_TOP_LEVEL_KEPT.has(b.type)).map(freeBox);
  const moovBytes = await file.read(moov.at, moov.size);
  walkMp4Container('moov', moovBytes, moov.headerSize, moov.size, moov.at, patches);
  return patches;
}

/**
 * Blanks the children of `parent` in bytes[start, end) that are not on its list and walks those
 * that have lists of their own (bytes[0] is at `fileAt` in the file).
 */
function walkMp4Container(
  parent: string,
  bytes: Buffer,
  start: number,
  end: number,
  fileAt: number,
  out: Patch[],
): void {
  const kept = MP4_KEPT_CHILDREN.get(parent);
  let at = start;
  while (at < end) {
    // QuickTime lets a list of atoms end with a 32-bit zero; tolerate zero padding of that kind
    if (end - at < 8 && bytes.subarray(at, end).every((b) => b === 0)) return;
    const box = parseBoxHeader(bytes, at, end - at, fileAt + at, false);
    if (!kept?.has(box.type)) out.push(freeBox(box));
    else if (MP4_KEPT_CHILDREN.has(box.type)) {
      walkMp4Container(box.type, bytes, at + box.headerSize, at + box.size, fileAt, out);
    }
    at += box.size;
  }
}

/**
 * The box header at bytes[offset], with at most `room` bytes left in its parent (or the file).
 * Size 1 means a 64-bit largesize follows the type; size 0 means "to the end of the file" and
 * is only allowed at the top level.
 */
function parseBoxHeader(bytes: Buffer, offset: number, room: number, fileAt: number, topLevel: boolean): Mp4Box {
  if (room < 8 || bytes.length < offset + 8) throw unreadable(`${room} stray bytes at ${fileAt}`);
  const size32 = bytes.readUInt32BE(offset);
  const type = bytes.toString('latin1', offset + 4, offset + 8);
  // a real box type is four printable characters (© counts: Apple's ©xyz); at the top level
  // anything else is bytes that do not belong to the file
  if (topLevel && !/^[\x20-\x7e\xa9]{4}$/.test(type)) throw unreadable(`no box at ${fileAt}`);
  let headerSize = 8;
  let size: number;
  let sizeForm: Mp4Box['sizeForm'] = 'plain';
  if (size32 === 1) {
    if (room < 16 || bytes.length < offset + 16) throw unreadable(`truncated box header at ${fileAt}`);
    const large = bytes.readBigUInt64BE(offset + 8);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) throw unreadable(`box size ${large} at ${fileAt}`);
    size = Number(large);
    headerSize = 16;
    sizeForm = 'large';
  } else if (size32 === 0) {
    if (!topLevel) throw unreadable(`box of size 0 inside another at ${fileAt}`);
    size = room;
    sizeForm = 'to-end';
  } else {
    size = size32;
  }
  if (type === 'uuid') headerSize += 16;
  if (size < headerSize) throw unreadable(`box ${JSON.stringify(type)} of ${size} bytes at ${fileAt}`);
  if (size > room) throw unreadable(`box ${JSON.stringify(type)} at ${fileAt} runs past its parent`);
  return { type, at: fileAt, headerSize, size, sizeForm };
}

/** the same span as a `free` box: size written the same way, type `free`, content zeroed */
function freeBox(box: Mp4Box): Patch {
  const head = Buffer.alloc(box.sizeForm === 'large' ? 16 : 8);
  if (box.sizeForm === 'large') {
    head.writeUInt32BE(1, 0);
    head.writeBigUInt64BE(BigInt(box.size), 8);
  } else {
    head.writeUInt32BE(box.sizeForm === 'to-end' ? 0 : box.size, 0);
  }
  head.write('free', 4, 'latin1');
  return { at: box.at, length: box.size, head };
}

// ---------------------------------------------------------------------------------------------
// WebM (Matroska / EBML)

const EBML_ID = 0x1a45dfa3;
const DOCTYPE_ID = 0x4282;
const SEGMENT_ID = 0x18538067;
const CLUSTER_ID = 0x1f43b675;
const TAGS_ID = 0x1254c367;
const ATTACHMENTS_ID = 0x1941a469;
const VOID_ID = 0xec;

/**
 * The Segment's children (Matroska "level 1"). An unknown-size Cluster ends where the next of
 * these begins; Void and CRC-32 may appear at any level, so they do not end it.
 */
const SEGMENT_CHILDREN: ReadonlySet<number> = new Set([
  0x114d9b74, // SeekHead
  0x1549a966, // Info
  0x1654ae6b, // Tracks
  0x1c53bb6b, // Cues
  0x1043a770, // Chapters
  ATTACHMENTS_ID,
  TAGS_ID,
  CLUSTER_ID,
]);

/**
 * Segment children that are blanked: Tags (title, location, encoder, device, dates…) and
 * Attachments (whole files: a cover picture with its own EXIF, anything a muxer was given).
 * Neither is needed to play the video.
 */
const WEBM_METADATA: ReadonlySet<number> = new Set([TAGS_ID, ATTACHMENTS_ID]);

const MAX_EBML_HEADER_BYTES = 4096;
/** a 100 MB video has tens of thousands of elements at this level; far more is a file built to stall us */
const MAX_WEBM_ELEMENTS = 2_000_000;

interface EbmlElement {
  id: number;
  /** offset of the element (its ID) in the file */
  at: number;
  /** offset of its content */
  dataAt: number;
  /** content size, or null for "unknown" (all value bits set: runs until something ends it) */
  size: number | null;
}

async function planWebm(file: PositionedFile): Promise<Patch[]> {
  const header = await readEbmlElement(file, 0, file.size);
  if (header.id !== EBML_ID || header.size === null || header.size > MAX_EBML_HEADER_BYTES) {
    throw unreadable('no EBML header');
  }
  const docType = readDocType(await file.read(header.dataAt, header.size), header.dataAt);
  if (docType !== 'webm') throw unreadable(`DocType ${JSON.stringify(docType)}, not webm`);

  const segment = await readEbmlElement(file, header.dataAt + header.size, file.size);
  if (segment.id !== SEGMENT_ID) throw unreadable('no Segment after the EBML header');
  // one Segment, and it ends where the file ends: nothing may be appended (a polyglot's second half)
  const segmentEnd = segment.size === null ? file.size : segment.dataAt + segment.size;
  if (segmentEnd !== file.size) throw unreadable(`${file.size - segmentEnd} bytes after the Segment`);

  const patches: Patch[] = [];
  let count = 0;
  for (let at = segment.dataAt; at < segmentEnd;) {
    if (++count > MAX_WEBM_ELEMENTS) throw unreadable('too many elements');
    const child = await readEbmlElement(file, at, segmentEnd);
    // elements we do not know are legal in Matroska and skipped; a second document is not
    if (child.id === EBML_ID || child.id === SEGMENT_ID) throw unreadable('a second EBML document inside the Segment');
    if (child.size === null) {
      // Live recorders (MediaRecorder) cannot know a Cluster's size when they start writing it.
      // Such a Cluster runs until the next Segment child; its own children must have known
      // sizes, so it is walked child by child to find where it ends — Tags written after the
      // Clusters are then found as well.
      if (child.id !== CLUSTER_ID) throw unreadable(`element 0x${child.id.toString(16)} of unknown size`);
      const walked = await endOfUnknownSizeCluster(file, child.dataAt, segmentEnd, count);
      at = walked.end;
      count = walked.count;
      continue;
    }
    const end = child.dataAt + child.size;
    if (WEBM_METADATA.has(child.id)) patches.push(voidElement(child.at, end - child.at));
    at = end;
  }
  return patches;
}

async function endOfUnknownSizeCluster(
  file: PositionedFile,
  start: number,
  segmentEnd: number,
  count: number,
): Promise<{ end: number; count: number }> {
  let at = start;
  while (at < segmentEnd) {
    if (++count > MAX_WEBM_ELEMENTS) throw unreadable('too many elements');
    const child = await readEbmlElement(file, at, segmentEnd, true);
    if (SEGMENT_CHILDREN.has(child.id) || child.id === EBML_ID || child.id === SEGMENT_ID) return { end: at, count };
    if (child.size === null) throw unreadable(`element 0x${child.id.toString(16)} of unknown size inside a Cluster`);
    if (child.dataAt + child.size > segmentEnd) throw unreadable(`element at ${at} runs past the Segment`);
    at = child.dataAt + child.size;
  }
  return { end: at, count };
}

/**
 * The element header at `at`, which must lie (with its content, when its size is known) before
 * `end`. `sizeUnchecked`: the caller may stop at this element rather than enter it (the end of an
 * unknown-size Cluster), so only its header has to fit.
 */
async function readEbmlElement(
  file: PositionedFile,
  at: number,
  end: number,
  sizeUnchecked = false,
): Promise<EbmlElement> {
  const bytes = await file.read(at, Math.min(12, end - at));
  const element = parseEbmlHeader(bytes, 0, at);
  if (element.dataAt > end) throw unreadable(`element header at ${at} runs past its parent`);
  if (!sizeUnchecked && element.size !== null && element.dataAt + element.size > end) {
    throw unreadable(`element 0x${element.id.toString(16)} at ${at} runs past its parent`);
  }
  return element;
}

/** ID (1–4 bytes, marker bits kept, as the specs write IDs) and size (1–8 bytes) at bytes[offset] */
function parseEbmlHeader(bytes: Buffer, offset: number, fileAt: number): EbmlElement {
  const first = bytes[offset];
  if (first === undefined || first === 0) throw unreadable(`no element at ${fileAt}`);
  const idWidth = Math.clz32(first) - 23;
  if (idWidth > 4 || offset + idWidth > bytes.length) throw unreadable(`bad element ID at ${fileAt}`);
  let id = 0;
  for (let i = 0; i < idWidth; i++) id = id * 256 + (bytes[offset + i] as number);

  const sizeAt = offset + idWidth;
  const sizeFirst = bytes[sizeAt];
  if (sizeFirst === undefined || sizeFirst === 0) throw unreadable(`bad element size at ${fileAt}`);
  const sizeWidth = Math.clz32(sizeFirst) - 23;
  if (sizeAt + sizeWidth > bytes.length) throw unreadable(`truncated element size at ${fileAt}`);
  let size = sizeFirst & (0xff >> sizeWidth);
  let allOnes = size === 0xff >> sizeWidth;
  for (let i = 1; i < sizeWidth; i++) {
    const byte = bytes[sizeAt + i] as number;
    size = size * 256 + byte;
    allOnes &&= byte === 0xff;
  }
  if (!allOnes && size > Number.MAX_SAFE_INTEGER) throw unreadable(`element size ${size} at ${fileAt}`);
  const dataAt = fileAt + idWidth + sizeWidth;
  return { id, at: fileAt, dataAt, size: allOnes ? null : size };
}

/** DocType from the EBML header's content, whose children must tile it */
function readDocType(content: Buffer, fileAt: number): string | null {
  let docType: string | null = null;
  for (let at = 0; at < content.length;) {
    const child = parseEbmlHeader(content, at, fileAt + at);
    if (child.size === null) throw unreadable('unknown size inside the EBML header');
    const dataAt = at + (child.dataAt - child.at);
    if (dataAt + child.size > content.length) throw unreadable('EBML header child runs past the header');
    if (child.id === DOCTYPE_ID) docType = content.toString('latin1', dataAt, dataAt + child.size).replace(/\0+$/, '');
    at = dataAt + child.size;
  }
  return docType;
}

/**
 * The same span as a Void element: ID 0xEC, then a size vint as wide as needed to make the
 * element exactly `length` bytes (8 bytes wide when there is room, else narrower and empty).
 */
function voidElement(at: number, length: number): Patch {
  const sizeWidth = Math.min(8, length - 1);
  let rest = length - 1 - sizeWidth;
  const head = Buffer.alloc(1 + sizeWidth);
  head[0] = VOID_ID;
  for (let i = sizeWidth; i >= 1; i--) {
    head[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  head[1] = (head[1] as number) | (0x80 >> (sizeWidth - 1));
  return { at, length, head };
}
