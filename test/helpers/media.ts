import type { FastifyInstance } from 'fastify';

/** A multipart/form-data body with one file part, as a browser's FormData would send it. */
export function multipart(
  file: Buffer,
  options: { field?: string; filename?: string; contentType?: string } = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----buurtwag${Math.random().toString(16).slice(2)}`;
  const head =
    `--${boundary}\r\n` +
    `Content-Disposition: form-data; name="${options.field ?? 'file'}"; filename="${options.filename ?? 'photo.jpg'}"\r\n` +
    `Content-Type: ${options.contentType ?? 'application/octet-stream'}\r\n\r\n`;
  const payload = Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export interface Fetched {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Opens a media URL the way a browser would: URLs of the app itself (the filesystem store) go
 * through app.inject, S3 URLs to the S3 server.
 */
export async function fetchMedia(app: FastifyInstance, url: string, publicUrl: string): Promise<Fetched> {
  if (url.startsWith(`${publicUrl}/`)) {
    const res = await app.inject({ url: url.slice(publicUrl.length) });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = String(v);
    return { status: res.statusCode, headers, body: res.rawPayload };
  }
  const res = await fetch(url);
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
}
