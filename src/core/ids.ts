/**
 * Message uids: positive integers below 2^53 (JavaScript clients read them exactly), unique across
 * nodes and increasing with time on each node.
 *
 * Layout (53 bits):  | 41 bits: ms since 2024-01-01T00:00:00Z | 5 bits: node id | 7 bits: counter |
 *   - 41 bits of milliseconds last until the year 2093;
 *   - 32 nodes (0..31), each configured with a distinct `nodeId`;
 *   - 128 uids per millisecond per node. A burst past 128 borrows the next millisecond, so uids stay
 *     unique and increasing; the embedded time then runs at most a few ms ahead of the wall clock.
 * If the wall clock steps back, the generator keeps counting from the last time it used, so uids never
 * decrease. On start the generator is seeded with the largest uid already stored.
 */
export const UID_EPOCH_MS = Date.UTC(2024, 0, 1);
export const NODE_BITS = 5;
export const COUNTER_BITS = 7;
export const MAX_NODE_ID = (1 << NODE_BITS) - 1;
const COUNTER_MAX = (1 << COUNTER_BITS) - 1;
const MS_SHIFT = 2 ** (NODE_BITS + COUNTER_BITS);
const NODE_SHIFT = 2 ** COUNTER_BITS;

export class UidGenerator {
  private lastMs = 0;
  private counter = 0;
  private lastUid = 0;

  constructor(private readonly nodeId: number) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > MAX_NODE_ID) {
      throw new RangeError(`nodeId must be an integer 0..${MAX_NODE_ID}`);
    }
  }

  /** Make every later uid greater than `uid` (the largest one already issued, by any node). */
  seed(uid: number): void {
    if (uid <= 0) return;
    this.lastUid = Math.max(this.lastUid, uid);
    const ms = Math.floor(uid / MS_SHIFT);
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.counter = COUNTER_MAX; // next() moves on to a fresh millisecond
    } else if (ms === this.lastMs) {
      this.counter = COUNTER_MAX;
    }
  }

  next(nowMs: number = Date.now()): number {
    const ms = Math.max(0, nowMs - UID_EPOCH_MS);
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.counter = 0;
    } else if (this.counter < COUNTER_MAX) {
      this.counter++;
    } else {
      this.lastMs++;
      this.counter = 0;
    }
    this.lastUid = this.lastMs * MS_SHIFT + this.nodeId * NODE_SHIFT + this.counter;
    return this.lastUid;
  }

  /** The largest uid issued or seeded so far (0 when none). */
  get last(): number {
    return this.lastUid;
  }
}

/** The wall-clock time (ms since the Unix epoch) embedded in a uid. */
export function uidTime(uid: number): number {
  return Math.floor(uid / MS_SHIFT) + UID_EPOCH_MS;
}

/** The smallest uid any node could issue at or after `ms` (wall-clock ms): bounds uid range scans by time. */
export function uidFloor(ms: number): number {
  return Math.max(0, ms - UID_EPOCH_MS) * MS_SHIFT;
}

export function uidNode(uid: number): number {
  return Math.floor(uid / NODE_SHIFT) % (1 << NODE_BITS);
}

const TWO_32 = 2 ** 32;
/** Uids are below 2^53: the bits above the low 32 are fewer than 2^21. */
const HIGH_LIMIT = 2 ** 21;

/** A 32-bit avalanche mix (MurmurHash3's finaliser): a bijection on 32-bit values. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The message key of callbacks (Tencent's MsgKey "MsgSeq_MsgRandom_MsgTime"), a pure function of the
 * message's uid and time:
 * - `seq`: the uid's low 32 bits (C2C MsgSeq);
 * - `random`: a 32-bit value that differs from message to message and never changes for one message
 *   (MsgRandom, a group's Random): the uid's remaining bits (fewer than 21) XOR a 32-bit mix of `seq`,
 *   so the uid can be recovered from (seq, random);
 * - `time`: the message time in seconds.
 * The key names the message exactly, so the recall endpoint can take it instead of the uid.
 */
export function messageKey(uid: number, timestampMs: number): { seq: number; random: number; time: number; key: string } {
  const seq = uid % TWO_32;
  const random = (mix32(seq) ^ Math.floor(uid / TWO_32)) >>> 0;
  const time = Math.floor(timestampMs / 1000);
  return { seq, random, time, key: `${seq}_${random}_${time}` };
}

const KEY = /^([0-9]{1,10})_([0-9]{1,10})_([0-9]{1,11})$/;

function keyParts(key: string): { seq: number; random: number; time: number } | null {
  const m = KEY.exec(key);
  if (!m) return null;
  const seq = Number(m[1]);
  const random = Number(m[2]);
  if (seq >= TWO_32 || random >= TWO_32) return null;
  return { seq, random, time: Number(m[3]) };
}

function uidOf(high: number, seq: number): number | null {
  if (high >= HIGH_LIMIT) return null;
  const uid = high * TWO_32 + seq;
  return Number.isSafeInteger(uid) && uid > 0 ? uid : null;
}

/** The uid and time (s) a message key names, or null when it is not one. */
export function parseMessageKey(key: string): { uid: number; time: number } | null {
  const k = keyParts(key);
  if (!k) return null;
  const uid = uidOf((k.random ^ mix32(k.seq)) >>> 0, k.seq);
  return uid === null ? null : { uid, time: k.time };
}

/**
 * The uid and time (s) of a key issued before MsgRandom was mixed (its MsgRandom was the uid's bits
 * above the low 32), or null. Such keys are still accepted: the store checks the message's time.
 */
export function parseLegacyMessageKey(key: string): { uid: number; time: number } | null {
  const k = keyParts(key);
  if (!k) return null;
  const uid = uidOf(k.random, k.seq);
  return uid === null ? null : { uid, time: k.time };
}
