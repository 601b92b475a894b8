import { describe, expect, it } from 'vitest';
import { MessageStatus, PersistFlag, ReceiverState } from '../../src/core/model.js';
import { countsAsUnread, hiddenBy, mayCountAsUnread, UNREAD_RULE, unreadDelta, type UnreadFacts } from '../../src/core/unread.js';

/** The rule of src/core/unread.ts, case by case. */

const TS = 1_767_225_600_123;
const ME = 'bob';

/** A message from alice that counts for bob: every clause satisfied. */
const counted: UnreadFacts = {
  sender: 'alice',
  persistFlag: PersistFlag.count,
  status: MessageStatus.normal,
  timestamp: TS,
  receiverState: ReceiverState.none,
  hidden: false,
  readMark: 0,
};

describe('countsAsUnread', () => {
  const cases: Array<[string, Partial<UnreadFacts>, boolean, string?]> = [
    ['every clause holds', {}, true],
    ['read mark just before the message', { readMark: TS - 1 }, true],
    ['read mark at the message (read)', { readMark: TS }, false],
    ['read mark after the message', { readMark: TS + 1 }, false],
    ['own message', { sender: ME }, false],
    ['persistFlag 0 (not persisted by clients)', { persistFlag: PersistFlag.none }, false],
    ['persistFlag 1 (persist)', { persistFlag: PersistFlag.persist }, false],
    ['persistFlag 4 (transparent)', { persistFlag: PersistFlag.transparent }, false],
    ['an unknown persist flag', { persistFlag: 2 }, false],
    ['recalled for everyone', { status: MessageStatus.recalled }, false],
    ['deleted for everyone (tombstone)', { status: MessageStatus.deleted }, false],
    ['recalled for this receiver', { receiverState: ReceiverState.recalled }, false],
    ['deleted for this receiver', { receiverState: ReceiverState.deleted }, false],
    ['hidden (clear_by_user, conversation delete)', { hidden: true }, false],
    ['own message, even unread and counted', { sender: ME, readMark: 0 }, false],
  ];
  it.each(cases)('%s', (_label, over, expected) => {
    expect(countsAsUnread(ME, { ...counted, ...over })).toBe(expected);
  });

  it('exhaustively: of every combination of the facts, exactly the ones satisfying all six clauses count', () => {
    const senders = ['alice', ME];
    const flags = [PersistFlag.none, PersistFlag.persist, PersistFlag.count, PersistFlag.transparent];
    const statuses = [MessageStatus.normal, MessageStatus.recalled, MessageStatus.deleted];
    const states = [ReceiverState.none, ReceiverState.recalled, ReceiverState.deleted];
    const marks = [0, TS - 1, TS, TS + 1];
    const countedCombos: string[] = [];
    let total = 0;
    for (const sender of senders)
      for (const persistFlag of flags)
        for (const status of statuses)
          for (const receiverState of states)
            for (const hidden of [false, true])
              for (const readMark of marks) {
                total++;
                const f: UnreadFacts = { sender, persistFlag, status, timestamp: TS, receiverState, hidden, readMark };
                if (countsAsUnread(ME, f)) countedCombos.push(JSON.stringify({ sender, persistFlag, status, receiverState, hidden, readMark }));
              }
    expect(total).toBe(2 * 4 * 3 * 3 * 2 * 4);
    const expected = [0, TS - 1].map((readMark) =>
      JSON.stringify({ sender: 'alice', persistFlag: 3, status: 0, receiverState: 0, hidden: false, readMark }),
    );
    expect(countedCombos).toEqual(expected);
  });

  it('mayCountAsUnread is the user-independent part (persist flag and status)', () => {
    for (const persistFlag of [0, 1, 2, 3, 4]) {
      for (const status of [0, 1, 2]) {
        expect(mayCountAsUnread({ persistFlag, status }), `${persistFlag}/${status}`).toBe(persistFlag === 3 && status === 0);
        // Whatever the user's view, a message failing it counts for nobody.
        if (!mayCountAsUnread({ persistFlag, status })) expect(countsAsUnread(ME, { ...counted, persistFlag, status })).toBe(false);
      }
    }
  });

  it('UNREAD_RULE names the values the clauses compare with (stores encode their recount with them)', () => {
    expect(UNREAD_RULE).toEqual({ countedPersistFlags: [3], countedStatus: 0, countedReceiverState: 0 });
  });
});

describe('unreadDelta', () => {
  const cases: Array<[string, Partial<UnreadFacts>, Partial<UnreadFacts>, -1 | 0 | 1]> = [
    ['recall of an unread counted message', {}, { status: MessageStatus.recalled, persistFlag: PersistFlag.persist }, -1],
    ['delete of an unread counted message', {}, { status: MessageStatus.deleted }, -1],
    ['recall for this receiver', {}, { receiverState: ReceiverState.recalled }, -1],
    ['delete for this receiver', {}, { receiverState: ReceiverState.deleted }, -1],
    ['delete for this receiver after a recall for it', { receiverState: ReceiverState.recalled }, { receiverState: ReceiverState.deleted }, 0],
    ['recall of an already read message', { readMark: TS }, { readMark: TS, status: MessageStatus.recalled }, 0],
    ['delete of an already read message', { readMark: TS + 5 }, { readMark: TS + 5, status: MessageStatus.deleted }, 0],
    ['delete of a hidden message', { hidden: true }, { hidden: true, status: MessageStatus.deleted }, 0],
    ['recall of a persistFlag 1 message', { persistFlag: PersistFlag.persist }, { persistFlag: PersistFlag.persist, status: MessageStatus.recalled }, 0],
    ['the sender recalls its own message', { sender: ME }, { sender: ME, status: MessageStatus.recalled }, 0],
    ['update 3 → 1', {}, { persistFlag: PersistFlag.persist }, -1],
    ['update 3 → 0', {}, { persistFlag: PersistFlag.none }, -1],
    ['update 1 → 3', { persistFlag: PersistFlag.persist }, {}, 1],
    ['update 0 → 3', { persistFlag: PersistFlag.none }, {}, 1],
    ['update 0 → 3 of a message already read', { persistFlag: PersistFlag.none, readMark: TS }, { readMark: TS }, 0],
    ['update 3 → 3', {}, {}, 0],
    ['a read mark reaching it', {}, { readMark: TS }, -1],
    ['a read mark not reaching it', {}, { readMark: TS - 1 }, 0],
    ['a hide covering it', {}, { hidden: true }, -1],
  ];
  it.each(cases)('%s', (_label, before, after, expected) => {
    expect(unreadDelta(ME, { ...counted, ...before }, { ...counted, ...after })).toBe(expected);
  });
});

describe('hiddenBy', () => {
  const cases: Array<[string, Array<{ start: number; end: number }>, boolean]> = [
    ['no range', [], false],
    ['inside', [{ start: TS - 10, end: TS + 10 }], true],
    ['at the start (included)', [{ start: TS, end: TS + 10 }], true],
    ['at the end (included)', [{ start: 0, end: TS }], true],
    ['just after the end', [{ start: 0, end: TS - 1 }], false],
    ['just before the start', [{ start: TS + 1, end: TS + 100 }], false],
    ['one of several ranges', [{ start: 0, end: 5 }, { start: TS, end: TS }], true],
    ['an empty range (start after end)', [{ start: TS + 1, end: TS - 1 }], false],
  ];
  it.each(cases)('%s', (_label, ranges, expected) => {
    expect(hiddenBy(TS, ranges)).toBe(expected);
  });
});
