import type { AdminClient } from '../helpers/admin-client.js';
import { FIXTURE_USERS, FX } from './fixtures.js';

/**
 * What the store holds about the fixture objects, read through the admin API: per fixture user its
 * conversations (with unread counts and last message), groups, delivery mark and channel
 * subscription, friends, blacklist and relations with the other fixture users; the sensitive words;
 * the fixture group (info, members), channel and messages; every user's profile
 * (user/all: creations and updates show), blocked users and callback targets. Two snapshots around a
 * refused input must be equal.
 */
export type Snapshot = Map<string, string>;

export interface SnapshotOptions {
  /**
   * Result keys left out wherever they occur: state that accepted inputs of the surface under test
   * change without a reply to wait for (a device's `ack` moves the delivery mark, a `read` without
   * `id` the read marks), so that a late write of an earlier accepted input is not blamed on a later
   * refused one.
   */
  volatileKeys?: readonly string[];
  /** Leave out /message/delivery (moved by `ack` frames, which get no reply). */
  skipDelivery?: boolean;
}

function reads(uids: readonly number[], opts: SnapshotOptions): Array<[string, Record<string, unknown>]> {
  const out: Array<[string, Record<string, unknown>]> = [];
  for (const u of FIXTURE_USERS) {
    out.push(['/conversation/list', { userId: u }]);
    out.push(['/group/of_user', { userId: u }]);
    out.push(['/channel/is_subscribed', { channelId: FX.channel, userId: u }]);
    if (!opts.skipDelivery) out.push(['/message/delivery', { userId: u }]);
    out.push(['/friend/list', { userId: u }]);
    out.push(['/blacklist/list', { userId: u }]);
    for (const v of FIXTURE_USERS) if (v !== u) out.push(['/relation/get', { first: u, second: v }]);
  }
  out.push(['/sensitive/query', {}]);
  out.push(['/group/get_info', { groupId: FX.group }]);
  out.push(['/group/member/list', { groupId: FX.group }]);
  out.push(['/channel/get', { channelId: FX.channel }]);
  for (const uid of uids) out.push(['/message/get_one', { messageUid: uid }]);
  out.push(['/user/all', { offset: 0, count: 10000 }]);
  out.push(['/user/get_blocked_list', {}]);
  out.push(['/callback/get_targets', {}]);
  return out;
}

function strip(v: unknown, keys: ReadonlySet<string>): unknown {
  if (Array.isArray(v)) return v.map((x) => strip(x, keys));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!keys.has(k)) o[k] = strip(x, keys);
    return o;
  }
  return v;
}

export async function takeSnapshot(admin: AdminClient, uids: readonly number[], opts: SnapshotOptions = {}): Promise<Snapshot> {
  const volatile = new Set(opts.volatileKeys ?? []);
  const list = reads(uids, opts);
  const replies = await Promise.all(list.map(([path, body]) => admin.post(path, body)));
  const snap: Snapshot = new Map();
  list.forEach(([path, body], i) => {
    const r = replies[i]!;
    snap.set(`${path} ${JSON.stringify(body)}`, JSON.stringify(strip({ status: r.status, ...r.body }, volatile)));
  });
  return snap;
}

/**
 * A message with an expireDuration (an accepted message/update may give a fixture one) disappears
 * when its time comes, whatever the inputs: such a read is not compared.
 */
function expiring(key: string, value: string): boolean {
  if (!key.startsWith('/message/get_one ')) return false;
  const r = (JSON.parse(value) as { result?: { payload?: { expireDuration?: number } } }).result;
  return (r?.payload?.expireDuration ?? 0) > 0;
}

/** The reads whose answers differ, with both answers (abbreviated). */
export function diffSnapshots(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [k, v] of before) {
    const w = after.get(k);
    if (w !== v && !expiring(k, v)) out.push(`${k}: ${abbreviate(v)} -> ${abbreviate(w ?? '(missing)')}`);
  }
  return out;
}

function abbreviate(s: string): string {
  return s.length > 400 ? `${s.slice(0, 400)}…(${s.length} chars)` : s;
}

/**
 * Most entries one input may add to one fixture user's conversation list. Issue 8 found
 * group/manager/set writing one announcement per `to_lines` entry into every member's list (20 000
 * lines, 20 000 conversations each); no documented input legitimately fans out that far per user.
 */
export const AMPLIFICATION_BOUND = 100;

function conversationCount(snap: Snapshot, user: string): number {
  const v = snap.get(`/conversation/list ${JSON.stringify({ userId: user })}`);
  if (!v) return 0;
  const parsed = JSON.parse(v) as { result?: { conversations?: unknown[] } };
  return parsed.result?.conversations?.length ?? 0;
}

/** How many conversations each fixture user gained between two snapshots. */
export function conversationGrowth(before: Snapshot, after: Snapshot): Array<{ user: string; added: number }> {
  return FIXTURE_USERS.map((user) => ({ user, added: conversationCount(after, user) - conversationCount(before, user) }));
}
