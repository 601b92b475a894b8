import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { CoreError } from '../core/errors.js';
import type { ContactInfo, ContactInfoSource } from '../core/ports/contact-info.js';
import { isRecord } from '../core/payload.js';

export interface ContactInfoOptions {
  /** Whole deadline: connect, headers and body. */
  timeoutMs: number;
  /** Largest answer read; a longer one is refused. */
  maxBytes: number;
  /** Allow loopback, private, link-local and other non-public addresses (tests, trusted networks). */
  allowPrivate: boolean;
}

/** Addresses an info URL may not reach unless allowPrivate: every non-public range. */
const PRIVATE = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net4, bits, 'ipv4');
}
for (const [net6, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const) {
  PRIVATE.addSubnet(net6, bits, 'ipv6');
}

/** Whether an address is outside the public internet (IPv4-mapped IPv6 addresses judged by their IPv4 part). */
export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
    return PRIVATE.check(address, 'ipv6');
  }
  return true;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * Reads a contact's info URL (seed 000 `POST contact/{id}`): one GET, JSON answer. Bounded: one
 * deadline for the whole exchange, at most `maxBytes` read, no redirects, http(s) only; the host's
 * addresses are checked at connection time (the lookup the socket uses), so a name that resolves to a
 * private address — directly or by rebinding between a check and the connection — is refused unless
 * allowPrivate. The JSON may be seed 000's contact identity or an object holding it under
 * `channelAppContactIdentity`/`contact`; name, avatarUrl, originalContactPageUrl and screenName are
 * taken when they are strings, every other field goes to attributes.
 */
export class HttpContactInfo implements ContactInfoSource {
  constructor(private readonly opts: ContactInfoOptions) {}

  fetch(url: string): Promise<ContactInfo> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return Promise.reject(new CoreError('invalid_parameter', 'the contact info URL is not a URL'));
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return Promise.reject(new CoreError('invalid_parameter', 'the contact info URL must be http or https'));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(host) && !this.opts.allowPrivate && isPrivateAddress(host)) {
      return Promise.reject(new CoreError('invalid_parameter', 'the contact info URL points to a private address'));
    }
    const allowPrivate = this.opts.allowPrivate;
    const lookup = (hostname: string, options: dns.LookupOptions, cb: LookupCallback): void => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return cb(err, []);
        const list = addresses as dns.LookupAddress[];
        if (!allowPrivate && list.some((a) => isPrivateAddress(a.address))) {
          return cb(Object.assign(new Error('private address refused'), { code: 'EPRIVATE' }), []);
        }
        if (options.all) return cb(null, list);
        const first = list[0];
        if (!first) return cb(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), []);
        return cb(null, first.address, first.family);
      });
    };
    return new Promise<ContactInfo>((resolve, reject) => {
      let settled = false;
      const finish = (err: CoreError | null, info?: ContactInfo): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(info!);
      };
      const get = u.protocol === 'https:' ? https.get : http.get;
      const req = get(u, { lookup, headers: { accept: 'application/json' }, agent: false }, (res) => {
        res.on('error', () => finish(new CoreError('server_error', 'the contact info URL failed')));
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          res.resume();
          finish(new CoreError('server_error', `the contact info URL answered HTTP ${status}`));
          req.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.opts.maxBytes) {
            finish(new CoreError('invalid_parameter', `the contact info answer is larger than ${this.opts.maxBytes} bytes`));
            req.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          try {
            finish(null, toInfo(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown));
          } catch {
            finish(new CoreError('invalid_parameter', 'the contact info answer is not a JSON object'));
          }
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPRIVATE') finish(new CoreError('invalid_parameter', 'the contact info URL points to a private address'));
        else finish(new CoreError('server_error', 'the contact info URL is unreachable'));
      });
      const timer = setTimeout(() => {
        finish(new CoreError('timeout', 'the contact info URL did not answer in time'));
        req.destroy();
      }, this.opts.timeoutMs);
    });
  }
}

const FIELDS = ['name', 'avatarUrl', 'originalContactPageUrl', 'screenName'] as const;

function toInfo(v: unknown): ContactInfo {
  if (!isRecord(v)) throw new Error('not an object');
  const inner = isRecord(v['channelAppContactIdentity']) ? v['channelAppContactIdentity'] : isRecord(v['contact']) ? v['contact'] : v;
  const out: ContactInfo = {};
  const attributes: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(inner)) {
    if ((FIELDS as readonly string[]).includes(k)) {
      if (typeof x === 'string') out[k as (typeof FIELDS)[number]] = x.slice(0, 8192);
    } else if (k !== 'account' && k !== 'channelaccount' && k !== 'originalContactInfoUrl' && Object.keys(attributes).length < 64) {
      attributes[k] = x;
    }
  }
  if (Object.keys(attributes).length > 0 && JSON.stringify(attributes).length <= 65536) out.attributes = attributes;
  return out;
}
