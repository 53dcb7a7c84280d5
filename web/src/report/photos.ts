/** The longest side a photo is sent with: enough to see a pothole, small on a slow line. */
export const MAX_PHOTO_SIDE = 1600;
export const MAX_PHOTOS = 5;

/** The size that fits within max × max keeping the proportions; never enlarged. */
export function fitWithin(width: number, height: number, max = MAX_PHOTO_SIDE): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * Re-draws a photo on a canvas and encodes it as JPEG: at most 1600 px, and — since a canvas
 * holds only pixels — without its EXIF (GPS position, camera serial) before it leaves the phone.
 * The picture is turned upright first (createImageBitmap honours the EXIF orientation).
 */
export async function compressPhoto(file: Blob, quality = 0.8): Promise<Blob> {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  try {
    const { width, height } = fitWithin(bitmap.width, bitmap.height);
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2d canvas');
    context.drawImage(bitmap, 0, 0, width, height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('encode failed'))), 'image/jpeg', quality),
    );
  } finally {
    bitmap.close();
  }
}
