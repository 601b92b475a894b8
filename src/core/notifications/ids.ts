import crypto from 'node:crypto';

/** 5 random bytes per process, as an object id's middle part. */
const PROCESS = crypto.randomBytes(5).toString('hex');
let counter = crypto.randomBytes(3).readUIntBE(0, 3);

/**
 * A notification id: 24 lowercase hex digits laid out like a MongoDB object id (the seed's ids are
 * object ids): 4 bytes of seconds since the epoch, 5 bytes random per process, a 3-byte counter.
 * Unique across processes (random part) and increasing within one.
 */
export function newNotificationId(now: number = Date.now()): string {
  counter = (counter + 1) & 0xffffff;
  const secs = Math.floor(now / 1000) >>> 0;
  return secs.toString(16).padStart(8, '0') + PROCESS + counter.toString(16).padStart(6, '0');
}

/** Whether `s` has the shape of a notification id (24 hex digits, either case). */
export function isNotificationId(s: string): boolean {
  return /^[0-9a-fA-F]{24}$/.test(s);
}
