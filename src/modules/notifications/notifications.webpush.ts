import {
  createCipheriv,
  createECDH,
  createPrivateKey,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Web Push without a library: message encryption per RFC 8291 (aes128gcm, RFC 8188) and the
 * VAPID signature per RFC 8292, with node:crypto. Sending goes through the outbound guard
 * (safe-http) like every call to a URL that someone else gave us (a subscription's endpoint).
 */
export interface VapidKeys {
  /** base64url of the uncompressed P-256 point (65 bytes): what browsers take as applicationServerKey */
  publicKey: string;
  /** base64url of the private scalar (32 bytes) */
  privateKey: string;
  /** a contact for the push service: mailto: or https: */
  subject: string;
}

export interface PushTarget {
  endpoint: string;
  /** base64url, the browser's P-256 public key */
  p256dh: string;
  /** base64url, 16 bytes */
  auth: string;
}

const RECORD_SIZE = 4096;

/**
 * The VAPID keys from the config, or made once and kept in DATA_DIR/vapid.json (like the JWT
 * secret): a browser's subscription is bound to the public key, so it must survive restarts.
 */
export function loadVapidKeys(config: {
  dataDir: string;
  notifications: { vapid: VapidKeys | null; mailFrom: string };
}): VapidKeys {
  if (config.notifications.vapid) return { ...config.notifications.vapid };
  const subject = `mailto:${config.notifications.mailFrom.replace(/^.*<|>.*$/g, '')}`;
  const file = path.join(config.dataDir, 'vapid.json');
  const read = (): VapidKeys => {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { publicKey: string; privateKey: string };
    return { publicKey: stored.publicKey, privateKey: stored.privateKey, subject };
  };
  try {
    return read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const made = generateVapidKeys();
  try {
    fs.writeFileSync(file, JSON.stringify({ publicKey: made.publicKey, privateKey: made.privateKey }), {
      flag: 'wx',
      mode: 0o600,
    });
    return { ...made, subject };
  } catch (err) {
    // another process made them first: use theirs
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return read();
  }
}

export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = privateKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  const y = Buffer.from(jwk.y!, 'base64url');
  return {
    publicKey: Buffer.concat([Buffer.from([4]), x, y]).toString('base64url'),
    privateKey: jwk.d!,
  };
}

/** RFC 8292: `Authorization: vapid t=<ES256 JWT for the endpoint's origin>, k=<public key>`. */
export function vapidAuthorization(endpoint: string, keys: VapidKeys, now: Date): string {
  const publicPoint = Buffer.from(keys.publicKey, 'base64url');
  const key = createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: keys.privateKey,
      x: publicPoint.subarray(1, 33).toString('base64url'),
      y: publicPoint.subarray(33, 65).toString('base64url'),
    },
  });
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = {
    aud: new URL(endpoint).origin,
    // at most 24 h ahead (RFC 8292 §2); 12 h leaves room for clock skew
    exp: Math.floor(now.getTime() / 1000) + 12 * 3600,
    sub: keys.subject,
  };
  const unsigned = `${encode({ typ: 'JWT', alg: 'ES256' })}.${encode(claims)}`;
  const signature = sign('sha256', Buffer.from(unsigned), { key, dsaEncoding: 'ieee-p1363' });
  return `vapid t=${unsigned}.${signature.toString('base64url')}, k=${keys.publicKey}`;
}

/**
 * RFC 8291 §3.4: one aes128gcm record (the payload must fit in it). A fresh sender key pair and
 * salt per message; the body is salt ‖ record size ‖ key id length ‖ sender public key ‖ ciphertext.
 */
export function encryptPushPayload(
  target: Pick<PushTarget, 'p256dh' | 'auth'>,
  plaintext: Buffer,
  random: { salt?: Buffer; senderPrivateKey?: Buffer } = {},
): Buffer {
  const receiverPublic = Buffer.from(target.p256dh, 'base64url');
  const authSecret = Buffer.from(target.auth, 'base64url');
  if (receiverPublic.length !== 65 || receiverPublic[0] !== 4) throw new RangeError('p256dh is not a P-256 point');
  if (authSecret.length !== 16) throw new RangeError('auth must be 16 bytes');
  // the record: the text, a 0x02 delimiter (last record), no padding; plus the 16-byte tag
  if (plaintext.length + 1 + 16 > RECORD_SIZE - 86) throw new RangeError('push payload too large');

  const ecdh = createECDH('prime256v1');
  if (random.senderPrivateKey) ecdh.setPrivateKey(random.senderPrivateKey);
  else ecdh.generateKeys();
  const senderPublic = ecdh.getPublicKey();
  const shared = ecdh.computeSecret(receiverPublic);
  const salt = random.salt ?? randomBytes(16);

  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), receiverPublic, senderPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));

  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  const ciphertext = Buffer.concat([cipher.update(Buffer.concat([plaintext, Buffer.from([2])])), cipher.final()]);
  const header = Buffer.alloc(21);
  salt.copy(header, 0);
  header.writeUInt32BE(RECORD_SIZE, 16);
  header.writeUInt8(senderPublic.length, 20);
  return Buffer.concat([header, senderPublic, ciphertext, cipher.getAuthTag()]);
}
