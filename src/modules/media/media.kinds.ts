/**
 * What may be uploaded, decided from the bytes alone (never the file name or the client's
 * Content-Type), and how big each kind may be.
 */
export type MediaKind = 'image' | 'video' | 'document';

export interface SniffedType {
  kind: MediaKind;
  /** the canonical type of the upload as detected: image/jpeg, video/mp4, application/pdf, … */
  contentType: string;
}

export const MAX_BYTES: Readonly<Record<MediaKind, number>> = {
  image: 15 * 1024 * 1024,
  video: 100 * 1024 * 1024,
  document: 10 * 1024 * 1024,
};
/** the largest upload of any kind: a request bigger than this is refused before it is read */
export const MAX_UPLOAD_BYTES = Math.max(...Object.values(MAX_BYTES));
export const MAX_IMAGE_PIXELS = 40_000_000;
/** how many leading bytes the type detection needs */
export const SNIFF_BYTES = 4100;

/** Why an upload was refused after its type was known; the media service maps it to 413/415. */
export type RejectReason =
  | 'unsupported_type' // not one of the allowed kinds (or a disguised one)
  | 'unreadable' // claims to be an allowed kind but does not decode / parse as one
  | 'heic_unsupported' // HEIC with a codec this build cannot decode (iPhone HEVC)
  | 'too_many_pixels'; // over MAX_IMAGE_PIXELS (pixel flood)

export class MediaRejected extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'MediaRejected';
  }
}
