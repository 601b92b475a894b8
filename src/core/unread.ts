import { MessageStatus, PersistFlag, ReceiverState } from './model.js';

/**
 * The unread rule: whether one stored message counts as unread for one user. Every unread number
 * Switchboard shows (conversation/list, the callbacks' UnreadMsgNum) is the number of messages of a
 * conversation, among those the user received, that this rule counts.
 *
 * A message counts for user U when all of these hold:
 * 1. U is not its sender (own messages never count);
 * 2. its persist flag is "persist and count" (3) — 0, 1 and 4 never count;
 * 3. its status is normal — a recalled or deleted (tombstone) message no longer counts;
 * 4. it was neither recalled nor deleted for U alone (per-receiver recall / delete);
 * 5. no hide of U's covers its timestamp (clear_by_user range, conversation delete up to its time);
 * 6. its timestamp is after U's read mark in that conversation (a mark at or after it means read).
 *
 * Expiry is deliberately not part of the rule: a counter cannot change by itself as time passes, so
 * an expired message keeps counting until it is read, hidden, recalled or deleted.
 *
 * Stores keep running counters, changed by `unreadDelta` of the facts before and after each
 * mutation, and recount with a query that encodes the same six clauses with the values of
 * `UNREAD_RULE`; the store contract checks after every mutation that both agree.
 */

/** Everything the rule looks at: the message's own facts and the user's view of it. */
export interface UnreadFacts {
  sender: string;
  persistFlag: number;
  /** MessageStatus. */
  status: number;
  /** Server time of the message (ms). */
  timestamp: number;
  /** ReceiverState of the message for this user. */
  receiverState: number;
  /** A hide of this user's view of the conversation covers the message's timestamp (see `hiddenBy`). */
  hidden: boolean;
  /** The user's read mark in the conversation as the user sees it (ms; 0 when never read). */
  readMark: number;
}

/** The values the clauses compare with, for stores that encode the rule in a query. */
export const UNREAD_RULE: {
  readonly countedPersistFlags: readonly number[];
  readonly countedStatus: number;
  readonly countedReceiverState: number;
} = {
  countedPersistFlags: [PersistFlag.count],
  countedStatus: MessageStatus.normal,
  countedReceiverState: ReceiverState.none,
};

/**
 * Clauses 2 and 3, which do not depend on the user: a message failing them counts for nobody, so a
 * store need not look up anyone's view of it.
 */
export function mayCountAsUnread(m: { persistFlag: number; status: number }): boolean {
  return UNREAD_RULE.countedPersistFlags.includes(m.persistFlag) && m.status === UNREAD_RULE.countedStatus;
}

/** The whole rule. */
export function countsAsUnread(userId: string, f: UnreadFacts): boolean {
  return (
    f.sender !== userId &&
    mayCountAsUnread(f) &&
    f.receiverState === UNREAD_RULE.countedReceiverState &&
    !f.hidden &&
    f.timestamp > f.readMark
  );
}

/** How one mutation moves the user's counter: 1 if the message starts counting, -1 if it stops. */
export function unreadDelta(userId: string, before: UnreadFacts, after: UnreadFacts): -1 | 0 | 1 {
  const b = countsAsUnread(userId, before);
  const a = countsAsUnread(userId, after);
  return a === b ? 0 : a ? 1 : -1;
}

/** A time range of a conversation hidden for one user; both ends included (ms). */
export interface HiddenRange {
  start: number;
  end: number;
}

/** Clause 5's test: a message is hidden by a range that contains its timestamp, ends included. */
export function hiddenBy(timestamp: number, ranges: Iterable<HiddenRange>): boolean {
  for (const r of ranges) if (r.start <= timestamp && timestamp <= r.end) return true;
  return false;
}
