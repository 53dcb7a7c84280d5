import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/**
 * Outbound HTTP to URLs that admins type in (councils' Open311 endpoints, webhooks). Such a URL
 * must not reach this server's own network: loopback services, the cloud metadata endpoint,
 * other hosts on the private network (SSRF).
 *
 * The address is checked when the socket connects, not before: the request's own `lookup`
 * resolves the name once, refuses the request if ANY answer is not public, and hands net the
 * checked addresses to connect to. A check-then-connect design resolves twice, and a DNS server
 * that answers a public address first and 127.0.0.1 next (DNS rebinding) wins. Literal IP hosts
 * never reach `lookup` (net connects to them directly), so they are checked before the request.
 *
 * No redirects are followed: a 3xx is returned as is (a redirect to http://127.0.0.1/ would
 * otherwise be an easy way round all of this). No connection is reused: each call has its own
 * socket, checked when it was made.
 */

export const DEFAULT_ALLOWED_PORTS: readonly number[] = [80, 443, 8080, 8443];
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** resolves a host name to every address it has; the default is dns.lookup({ all: true }) */
export type OutboundLookup = (hostname: string) => Promise<dns.LookupAddress[]>;

export interface OutboundPolicy {
  /** ports a URL may name (an absent port counts as 80 or 443); default DEFAULT_ALLOWED_PORTS */
  allowedPorts?: readonly number[];
  /** exact addresses or CIDRs allowed even though they are not public ("10.1.2.0/24", "fd00::1") */
  allowAddresses?: readonly string[];
  /** replaces DNS; for tests (a name that resolves to loopback, an answer that changes) */
  lookup?: OutboundLookup;
}

export interface OutboundRequestInit {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** covers everything: DNS, connect, sending, and the whole response; default 10 s */
  timeoutMs?: number;
  /** a longer response body fails the request; default 1 MiB */
  maxResponseBytes?: number;
}

export interface OutboundResponse {
  status: number;
  /** lower-case names; a repeated header's values joined with ", " */
  headers: Record<string, string>;
  body: Buffer;
}

export type OutboundRefusedReason = 'url' | 'scheme' | 'credentials' | 'port' | 'address';

/** the policy forbids this request: it will never succeed, so never retry it */
export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused';
  readonly reason: OutboundRefusedReason;

  constructor(reason: OutboundRefusedReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export type OutboundFailedReason = 'network' | 'timeout' | 'too-large';

/** the request was allowed but did not complete: worth a retry later */
export class OutboundFailed extends Error {
  override readonly name = 'OutboundFailed';
  readonly reason: OutboundFailedReason;

  constructor(reason: OutboundFailedReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export function safeRequest(
  url: string,
  init: OutboundRequestInit,
  policy: OutboundPolicy = {},
): Promise<OutboundResponse> {
  // an async wrapper so that a refusal is a rejected promise, never a synchronous throw
  return Promise.resolve().then(() => send(url, init, policy));
}

interface Target {
  url: URL;
  /** the host without IPv6 brackets */
  host: string;
  port: number;
}

function send(url: string, init: OutboundRequestInit, policy: OutboundPolicy): Promise<OutboundResponse> {
  const allow = parseAllowList(policy.allowAddresses ?? []);
  const target = checkUrl(url, policy.allowedPorts ?? DEFAULT_ALLOWED_PORTS);
  if (net.isIP(target.host) !== 0) {
    const refusal = refusalFor(target.host, allow);
    if (refusal !== null) throw refusedAddress(target.host, target.host, refusal);
  }

  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = init.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  const headers: Record<string, string> = { ...init.headers };
  if (body !== undefined && !hasHeader(headers, 'content-length')) headers['content-length'] = String(body.length);

  const options: http.RequestOptions = {
    method: init.method,
    host: target.host,
    port: target.port,
    path: `${target.url.pathname}${target.url.search}`,
    headers,
    lookup: checkedLookup(policy.lookup ?? defaultLookup, allow),
    // a fresh agent per request: no pooled socket from an earlier call is reused
    agent: false,
  };
  const transport = target.url.protocol === 'https:' ? https : http;
  const where = `${target.url.protocol}//${target.url.host}`;

  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    const request = transport.request(options);

    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    const timer = setTimeout(() => {
      fail(new OutboundFailed('timeout', `no complete answer from ${where} within ${timeoutMs} ms`));
    }, timeoutMs);

    request.on('error', (error: Error) => {
      fail(
        error instanceof OutboundRefused
          ? error
          : new OutboundFailed('network', `request to ${where} failed: ${error.message}`, { cause: error }),
      );
    });

    request.on('response', (response: http.IncomingMessage) => {
      const tooLarge = (): OutboundFailed =>
        new OutboundFailed('too-large', `the answer from ${where} is larger than ${maxBytes} bytes`);
      const declared = Number(response.headers['content-length']);
      // no point reading 1 GB to learn that it is too large
      if (Number.isFinite(declared) && declared > maxBytes) {
        fail(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) fail(tooLarge());
        else chunks.push(chunk);
      });
      response.on('error', (error: Error) => {
        fail(new OutboundFailed('network', `the answer from ${where} broke off: ${error.message}`, { cause: error }));
      });
      // a connection that closes mid-body without an error event must not leave us waiting
      response.on('close', () => {
        if (!response.complete) fail(new OutboundFailed('network', `the answer from ${where} broke off`));
      });
      response.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, headers: flatHeaders(response), body: Buffer.concat(chunks) });
      });
    });

    request.end(body);
  });
}

function checkUrl(raw: string, allowedPorts: readonly number[]): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundRefused('url', `not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundRefused('scheme', `only http and https URLs are allowed, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new OutboundRefused('credentials', 'a URL may not carry credentials (user:password@); send them in a header');
  }
  // WHATWG URL drops a port that is the scheme's default, leaving ''
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (!allowedPorts.includes(port)) {
    throw new OutboundRefused('port', `port ${port} is not allowed (allowed: ${allowedPorts.join(', ')})`);
  }
  // WHATWG URL has already normalised IPv4 spellings (127.1, 0x7f000001, 2130706433, 0177.0.0.1
  // all become 127.0.0.1) and IPv6 ones ([::ffff:127.0.0.1] becomes [::ffff:7f00:1])
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new OutboundRefused('url', `no host in ${JSON.stringify(raw)}`);
  return { url, host, port };
}

const defaultLookup: OutboundLookup = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/**
 * The `lookup` net calls while connecting. net asks for all addresses (`all: true`) when it
 * tries IPv4 and IPv6 in turn (autoSelectFamily, on by default since Node 20) and for one
 * otherwise; either way it connects only to what this returns, which has all been checked.
 */
function checkedLookup(resolve: OutboundLookup, allow: AllowList): net.LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        if (found.length === 0) {
          callback(new OutboundFailed('network', `${hostname} has no address`), '', 0);
          return;
        }
        // ANY bad answer refuses: an attacker's name with one public and one private address
        // must not get to pick the private one through Happy Eyeballs or a retry
        for (const { address } of found) {
          const refusal = refusalFor(address, allow);
          if (refusal !== null) {
            callback(refusedAddress(hostname, address, refusal), '', 0);
            return;
          }
        }
        const wanted = options.family === 4 || options.family === 6 ? options.family : null;
        const usable = wanted === null ? found : found.filter((entry) => entry.family === wanted);
        const first = usable[0];
        if (first === undefined) {
          callback(new OutboundFailed('network', `${hostname} has no IPv${wanted} address`), '', 0);
        } else if (options.all === true) {
          callback(null, usable);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

function refusedAddress(host: string, address: string, refusal: string): OutboundRefused {
  const shown = host === address ? address : `${host} (${address})`;
  return new OutboundRefused('address', `${shown} is not a public address: ${refusal}`);
}

// ---------------------------------------------------------------------------------------------
// Addresses

type Family = 4 | 6;

interface Range {
  family: Family;
  bytes: Uint8Array;
  bits: number;
}

type AllowList = readonly Range[];

/** [CIDR, what it is]: IPv4 ranges that are not a public host on the internet */
const NON_PUBLIC_IPV4: readonly (readonly [string, string])[] = [
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT (shared)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (cloud metadata)'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved (incl. broadcast)'],
];
const NON_PUBLIC_IPV4_RANGES = NON_PUBLIC_IPV4.map(([cidr, label]) => ({ range: parseRange(cidr), label }));

const IPV6_PREFIX = {
  mapped: parseRange('::ffff:0:0/96'),
  compatible: parseRange('::/96'),
  translated: parseRange('::ffff:0:0:0/96'),
  nat64: parseRange('64:ff9b::/96'),
  nat64Local: parseRange('64:ff9b:1::/48'),
  sixToFour: parseRange('2002::/16'),
  teredo: parseRange('2001::/32'),
  documentation: parseRange('2001:db8::/32'),
  documentation2: parseRange('3fff::/20'),
  ietf: parseRange('2001::/23'),
  globalUnicast: parseRange('2000::/3'),
  uniqueLocal: parseRange('fc00::/7'),
  linkLocal: parseRange('fe80::/10'),
  siteLocal: parseRange('fec0::/10'),
  multicast: parseRange('ff00::/8'),
};

/**
 * Why an address may not be reached, or null when it may: a public address, or one the policy
 * allows. Exported for tests and for checking an admin's URL early (a friendly form error); the
 * request itself checks again when it connects.
 */
export function addressRefusal(address: string, allowAddresses: readonly string[] = []): string | null {
  return refusalFor(address, parseAllowList(allowAddresses));
}

function refusalFor(address: string, allow: AllowList): string | null {
  const parsed = parseAddress(address);
  if (parsed === null) return 'not an IP address';
  if (allow.some((range) => inRange(parsed, range))) return null;
  return parsed.family === 4 ? ipv4Refusal(parsed.bytes) : ipv6Refusal(parsed.bytes);
}

function ipv4Refusal(bytes: Uint8Array): string | null {
  const address: Range = { family: 4, bytes, bits: 32 };
  const hit = NON_PUBLIC_IPV4_RANGES.find(({ range }) => inRange(address, range));
  return hit === undefined ? null : hit.label;
}

/**
 * IPv6 is judged by what it reaches: an address that embeds an IPv4 one (mapped, NAT64, 6to4)
 * by that IPv4 address, so ::ffff:127.0.0.1 is loopback; outside global unicast (2000::/3)
 * nothing is public.
 */
function ipv6Refusal(bytes: Uint8Array): string | null {
  const address: Range = { family: 6, bytes, bits: 128 };
  const is = (range: Range): boolean => inRange(address, range);
  const embedded = (offset: number, kind: string): string | null => {
    const refusal = ipv4Refusal(bytes.subarray(offset, offset + 4));
    return refusal === null ? null : `${kind} of a non-public IPv4 address: ${refusal}`;
  };

  if (bytes.every((byte) => byte === 0)) return 'unspecified';
  if (is(IPV6_PREFIX.mapped)) return embedded(12, 'IPv4-mapped');
  if (is(IPV6_PREFIX.compatible)) {
    return bytes[15] === 1 && bytes.subarray(0, 15).every((byte) => byte === 0)
      ? 'loopback'
      : 'IPv4-compatible (deprecated)';
  }
  if (is(IPV6_PREFIX.translated)) return 'IPv4-translated (SIIT)';
  if (is(IPV6_PREFIX.nat64)) return embedded(12, 'NAT64');
  if (is(IPV6_PREFIX.nat64Local)) return 'local-use NAT64';
  if (is(IPV6_PREFIX.uniqueLocal)) return 'unique local (private)';
  if (is(IPV6_PREFIX.linkLocal)) return 'link-local';
  if (is(IPV6_PREFIX.siteLocal)) return 'site-local (deprecated)';
  if (is(IPV6_PREFIX.multicast)) return 'multicast';
  if (!is(IPV6_PREFIX.globalUnicast)) return 'reserved (not global unicast)';
  if (is(IPV6_PREFIX.sixToFour)) return embedded(2, '6to4');
  // the Teredo client's address is obfuscated and the tunnel reaches whatever the relay does;
  // no council runs its server behind Teredo
  if (is(IPV6_PREFIX.teredo)) return 'Teredo tunnel';
  if (is(IPV6_PREFIX.documentation) || is(IPV6_PREFIX.documentation2)) return 'documentation';
  if (is(IPV6_PREFIX.ietf)) return 'IETF protocol assignments';
  return null;
}

/** the allow-list entries, parsed; a malformed one is a configuration mistake and throws */
function parseAllowList(entries: readonly string[]): AllowList {
  return entries.map((entry) => {
    const range = entry.includes('/') ? tryParseRange(entry) : addressAsRange(entry);
    if (range === null) throw new TypeError(`outbound allow-list: ${JSON.stringify(entry)} is not an IP or CIDR`);
    return range;
  });
}

function addressAsRange(text: string): Range | null {
  const parsed = parseAddress(text);
  return parsed === null ? null : { family: parsed.family, bytes: parsed.bytes, bits: parsed.bits };
}

function parseRange(cidr: string): Range {
  const range = tryParseRange(cidr);
  if (range === null) throw new TypeError(`bad CIDR ${cidr}`);
  return range;
}

function tryParseRange(cidr: string): Range | null {
  const [address = '', bitsText = '', ...rest] = cidr.split('/');
  const parsed = parseAddress(address);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (parsed === null || rest.length > 0 || !(bits >= 0 && bits <= parsed.bits)) return null;
  return { family: parsed.family, bytes: parsed.bytes, bits };
}

function inRange(address: Range, range: Range): boolean {
  if (address.family !== range.family) return false;
  const whole = Math.floor(range.bits / 8);
  for (let i = 0; i < whole; i++) if (address.bytes[i] !== range.bytes[i]) return false;
  const rest = range.bits % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((address.bytes[whole] ?? 0) & mask) === ((range.bytes[whole] ?? 0) & mask);
}

/** an address in canonical form only (what dns.lookup and WHATWG URL give); IPv6 may carry a %zone */
function parseAddress(text: string): Range | null {
  const bare = text.replace(/%.*$/, '');
  switch (net.isIP(bare)) {
    case 4:
      return { family: 4, bytes: Uint8Array.from(bare.split('.').map(Number)), bits: 32 };
    case 6:
      return { family: 6, bytes: parseIPv6(bare), bits: 128 };
    default:
      return null;
  }
}

/** bytes of an address net.isIPv6 has accepted */
function parseIPv6(text: string): Uint8Array {
  let groups = text;
  // a trailing dotted quad (::ffff:127.0.0.1) is the last two groups
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(groups);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    groups = `${groups.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = groups.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const all = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function flatHeaders(response: http.IncomingMessage): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
