import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import {
  checkFriendAnswer,
  checkFriendRequest,
  conversationSettingKey,
  FRIEND_REQUEST_POLICY_DEFAULTS as P,
  PRIVATE_SEND_POLICY_DEFAULTS,
  privateSendDecision,
  type FriendRelation,
  type FriendRequest,
} from '../../src/core/relations.js';
import { SensitiveFilter } from '../../src/core/sensitive.js';

const rel = (over: Partial<FriendRelation> = {}): FriendRelation => ({ userId: 'b', friendUid: 'a', alias: '', extra: '', state: 1, blacked: 0, updateDt: 0, ...over });
const req = (status: number, updateDt: number): FriendRequest => ({ fromUid: 'a', toUid: 'b', reason: '', extra: '', status, updateDt });

function kindOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof CoreError ? e.kind : 'not a CoreError';
  }
}

describe('checkFriendRequest (Wildfire: saveAddFriendRequest)', () => {
  const now = 10 * 86_400_000 * 10;
  const none = { last: null, mine: null, theirs: null };
  it('a first request passes', () => expect(kindOf(() => checkFriendRequest(none, false, now, P))).toBeUndefined());
  it('a pending request blocks a repeat within repeatMs, not after, never when forced', () => {
    expect(kindOf(() => checkFriendRequest({ ...none, last: req(0, now - P.repeatMs) }, false, now, P))).toBe('already_requested');
    expect(kindOf(() => checkFriendRequest({ ...none, last: req(0, now - P.repeatMs - 1) }, false, now, P))).toBeUndefined();
    expect(kindOf(() => checkFriendRequest({ ...none, last: req(0, now) }, true, now, P))).toBeUndefined();
    // repeatMs 0: until answered.
    expect(kindOf(() => checkFriendRequest({ ...none, last: req(0, 0) }, false, now, { ...P, repeatMs: 0 }))).toBe('already_requested');
  });
  it('a rejected request blocks within rejectMs; an accepted one never', () => {
    expect(kindOf(() => checkFriendRequest({ ...none, last: req(2, now - 1) }, false, now, P))).toBe('friend_request_blocked');
    expect(kindOf(() => checkFriendRequest({ ...none, last: req(2, now - P.rejectMs) }, false, now, P))).toBeUndefined();
    expect(kindOf(() => checkFriendRequest({ ...none, last: req(2, now - 1) }, false, now, { ...P, rejectMs: 0 }))).toBeUndefined();
    expect(kindOf(() => checkFriendRequest({ ...none, last: req(1, now) }, false, now, P))).toBeUndefined();
  });
  it('friends already: 23 even when forced; blacklisted by the target: 246 unless forced', () => {
    expect(kindOf(() => checkFriendRequest({ ...none, mine: rel({ state: 0 }) }, true, now, P))).toBe('already_friends');
    expect(kindOf(() => checkFriendRequest({ ...none, theirs: rel({ blacked: 1 }) }, false, now, P))).toBe('in_blacklist');
    expect(kindOf(() => checkFriendRequest({ ...none, theirs: rel({ blacked: 1 }) }, true, now, P))).toBeUndefined();
  });
});

describe('checkFriendAnswer (Wildfire: handleFriendRequest from a device)', () => {
  const now = 100 * 86_400_000;
  it('253 without a request; 19 once expired unless friends already; the request otherwise', () => {
    expect(kindOf(() => checkFriendAnswer(null, false, now, P))).toBe('not_exist');
    expect(kindOf(() => checkFriendAnswer(req(0, now - P.expirationMs - 1), false, now, P))).toBe('friend_request_expired');
    expect(checkFriendAnswer(req(0, now - P.expirationMs - 1), true, now, P).fromUid).toBe('a');
    expect(checkFriendAnswer(req(0, now - P.expirationMs), false, now, P).toUid).toBe('b');
    expect(checkFriendAnswer(req(0, 0), false, now, { ...P, expirationMs: 0 }).status).toBe(0);
  });
});

describe('privateSendDecision (Wildfire: isAllowUserMessage)', () => {
  const D = PRIVATE_SEND_POLICY_DEFAULTS;
  it('no relation, or friends: send', () => {
    expect(privateSendDecision(null, 'a', 'b', 1, D)).toBe('send');
    expect(privateSendDecision(rel({ state: 0 }), 'a', 'b', 1, D)).toBe('send');
  });
  it('blacklisted: 246, or drop under the drop strategy; exception types pass', () => {
    expect(kindOf(() => privateSendDecision(rel({ blacked: 1, state: 0 }), 'a', 'b', 1, D))).toBe('in_blacklist');
    expect(privateSendDecision(rel({ blacked: 1 }), 'a', 'b', 1, { ...D, blacklist: 'drop' })).toBe('drop');
    expect(privateSendDecision(rel({ blacked: 1 }), 'a', 'b', 401, D)).toBe('send');
  });
  it('strangers, when they may not chat: 248 unless friends or allow-listed', () => {
    const strict = { ...D, disableStrangerChat: true, strangerChatAllowList: ['admin'] };
    expect(kindOf(() => privateSendDecision(null, 'a', 'b', 1, strict))).toBe('no_right');
    expect(kindOf(() => privateSendDecision(rel({ state: 1 }), 'a', 'b', 1, strict))).toBe('no_right');
    expect(privateSendDecision(rel({ state: 0 }), 'a', 'b', 1, strict)).toBe('send');
    expect(privateSendDecision(null, 'admin', 'b', 1, strict)).toBe('send');
    expect(privateSendDecision(null, 'a', 'admin', 1, strict)).toBe('send');
    expect(privateSendDecision(null, 'a', 'a', 1, strict)).toBe('send');
  });
  it('strangers: robots and other non-normal user types may chat, either side; types are read only when needed', () => {
    const strict = { ...D, disableStrangerChat: true };
    let reads = 0;
    const types = (sender: number | undefined, receiver: number | undefined) => () => {
      reads++;
      return { sender, receiver };
    };
    expect(privateSendDecision(null, 'a', 'robot', 1, strict, types(0, 1))).toBe('send');
    expect(privateSendDecision(null, 'admin', 'b', 1, strict, types(3, undefined))).toBe('send');
    expect(kindOf(() => privateSendDecision(null, 'a', 'b', 1, strict, types(0, undefined)))).toBe('no_right');
    expect(reads).toBe(3);
    privateSendDecision(rel({ state: 0 }), 'a', 'b', 1, strict, types(0, 0));
    privateSendDecision(null, 'a', 'b', 1, D, types(0, 0));
    expect(reads).toBe(3);
  });
});

describe('SensitiveFilter (Wildfire: SensitiveFilter, MAX_MATCH)', () => {
  it('matches case-insensitively, the longest word at each position, and masks each with ***', () => {
    const f = new SensitiveFilter(['bad', 'badword', 'Evil']);
    expect(f.size).toBe(3);
    expect(f.matches('a BADWORD and evil and bad')).toEqual(['badword', 'evil', 'bad']);
    expect(f.mask('a BADWORD and EVIL.')).toBe('a *** and ***.');
    expect(f.mask('nothing here')).toBeNull();
  });
  it('works on code points (astral characters, CJK) and ignores empty words', () => {
    const f = new SensitiveFilter(['', '敏感', '😀x']);
    expect(f.size).toBe(2);
    expect(f.mask('这是敏感词😀X!')).toBe('这是***词***!');
    expect(new SensitiveFilter([]).mask('anything')).toBeNull();
  });
});

describe('conversationSettingKey (the SDK’s setConversationTop key)', () => {
  it('is type-line-target', () => expect(conversationSettingKey(1, 0, 'g1')).toBe('1-0-g1'));
});
