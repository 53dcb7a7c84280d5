import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The JWT signing secret: JWT_SECRET when set (required in production, where several nodes must
 * share it), otherwise made once and kept in DATA_DIR/jwt-secret so that tokens survive restarts.
 */
export function loadJwtSecret(config: { jwtSecret: string | null; dataDir: string }): Uint8Array {
  if (config.jwtSecret) return new TextEncoder().encode(config.jwtSecret);
  const file = path.join(config.dataDir, 'jwt-secret');
  try {
    return new Uint8Array(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(48);
  try {
    fs.writeFileSync(file, secret.toString('base64url'), { flag: 'wx', mode: 0o600 });
    return new Uint8Array(secret);
  } catch (err) {
    // another process made it first: use theirs
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return new Uint8Array(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url'));
  }
}
