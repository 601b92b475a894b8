import crypto from 'node:crypto';
import net from 'node:net';
import { PlatformAuthError } from './envelope.js';

export interface PlatformAuthOptions {
  /** SWITCHBOARD_PLATFORM_KEY: callers send `Authorization: Bearer KEY`. */
  key: string;
  /** Addresses or CIDR ranges allowed (empty: any). */
  allowIps: readonly string[];
}

/**
 * Seed 000's authentication: the platform is internal (the App Centre calls it), so one shared key
 * (compared in constant time) and, optionally, an address allow-list. Checked on every request before
 * its body is read: a refused call has no side effect.
 */
export class PlatformAuth {
  private readonly key: Buffer;
  private readonly allow: net.BlockList | undefined;

  constructor(opts: PlatformAuthOptions) {
    this.key = crypto.createHash('sha256').update(`Bearer ${opts.key}`).digest();
    if (opts.allowIps.length > 0) {
      const list = new net.BlockList();
      for (const entry of opts.allowIps) addEntry(list, entry);
      this.allow = list;
    }
  }

  /** Throws PlatformAuthError (401 bad or missing key, 403 address not allowed). */
  check(authorization: string | undefined, remoteAddress: string | undefined): void {
    if (this.allow && !allowed(this.allow, remoteAddress ?? '')) throw new PlatformAuthError(403, 'address not allowed');
    const given = crypto.createHash('sha256').update(authorization ?? '').digest();
    if (!crypto.timingSafeEqual(given, this.key)) throw new PlatformAuthError(401, 'missing or wrong platform key');
  }
}

/** An address ("10.1.2.3", "::1") or a CIDR range ("10.0.0.0/8"); throws for anything else (configuration error). */
export function addEntry(list: net.BlockList, entry: string): void {
  const [addr, bits] = entry.trim().split('/');
  const family = net.isIP(addr ?? '');
  if (family === 0) throw new Error(`channelGateway.platformAllowIps: "${entry}" is not an address or CIDR range`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) list.addAddress(addr!, type);
  else {
    const n = Number(bits);
    if (!/^[0-9]{1,3}$/.test(bits) || n > (family === 4 ? 32 : 128)) throw new Error(`channelGateway.platformAllowIps: "${entry}" has a bad prefix length`);
    list.addSubnet(addr!, n, type);
  }
}

/** Throws (naming the setting) for an entry that is not an address or a CIDR range. */
export function checkAllowList(entries: readonly string[]): void {
  const list = new net.BlockList();
  for (const e of entries) addEntry(list, e);
}

function allowed(list: net.BlockList, address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const a = mapped ? mapped[1]! : address;
  const family = net.isIP(a);
  if (family === 0) return false;
  return list.check(a, family === 4 ? 'ipv4' : 'ipv6');
}
