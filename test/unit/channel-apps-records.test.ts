import { describe, expect, it } from 'vitest';
import { isCoreError } from '../../src/core/errors.js';
import type { ChannelAccount, ChannelApp, ChannelContact } from '../../src/core/channel-apps/model.js';
import { contactChanges, identityChanges, isHttpUrl, pickAccount002, record000, record002, sameSet, stableGuid } from '../../src/core/channel-apps/records.js';

/** The channel gateway's pure rules on records (core/channel-apps/records.ts). */

const at = { guid: 'g1', conversationId: 'cc', channelAccountId: 'acc', contactId: 'cu', now: 1234 };

const app = (over: Partial<ChannelApp> = {}): ChannelApp => ({
  appId: 'a', secret: 's', protocol: '002', baseUrl: 'http://x', outboundToken: '', versionId: '', defaultAccountId: '', status: 0, attributes: {}, createDt: 1, updateDt: 1, ...over,
});
const account = (id: string, over: Partial<ChannelAccount> = {}): ChannelAccount => ({
  channelAccountId: id, channelId: 'wechat', appId: 'a', accountName: `name-${id}`, accountOriginalId: '', agents: [], enabled: true, attributes: {}, createDt: 1, updateDt: 1, ...over,
});
const contact = (over: Partial<ChannelContact> = {}): ChannelContact => ({
  contactId: 'cu', channelAccountId: 'acc', account: 'x', name: 'N', avatarUrl: '', originalContactInfoUrl: '', originalContactPageUrl: '', screenName: '', attributes: { k: 1 }, createDt: 1, updateDt: 1, ...over,
});
const kindOf = (f: () => unknown): string => {
  try {
    f();
    return 'none';
  } catch (e) {
    return isCoreError(e) ? e.kind : 'other';
  }
};

describe('channel records', () => {
  it('stableGuid is UUID-shaped (version 5 nibble, RFC variant) and stable across builds: a retried 000 message gets its first guid', () => {
    expect(stableGuid('000', 'acc', 'om-1')).toBe('5d3fb0c7-9f56-5ec1-b8cf-abddf5c2b18d');
    expect(stableGuid('000', 'acc', 'om-2')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Length-prefixed parts: no two splits of one string collide.
    expect(stableGuid('ab', 'c')).not.toBe(stableGuid('a', 'bc'));
  });

  it('record000 keeps every field of the message; isReceive false is the account\'s outgoing message', () => {
    const m = {
      channelAccountId: 'acc', isReceive: false, createTime: 77, contact: { account: 'x' }, channelId: 'email', originalParentId: 'p', originalConversationId: 't',
      originalMessageId: 'om', originalUrl: 'http://o', subject: 'S', cc: 'c@x', contents: [{ id: 'k', type: 'text' as const, text: 'hi' }], raw: { extra: 1 },
    };
    expect(record000(m, at)).toEqual({
      uid: 0, guid: 'g1', conversationId: 'cc', channelAccountId: 'acc', contactId: 'cu', direction: 'out', isReceive: false, channelId: 'email',
      originalMessageId: 'om', originalParentId: 'p', originalConversationId: 't', originalUrl: 'http://o', subject: 'S', cc: 'c@x', contents: m.contents,
      createTime: 77, raw: { extra: 1 }, delivery: 'none', deliveryError: '', originalMessageUrl: '', createdAt: 1234, updatedAt: 1234,
    });
    expect(record000({ ...m, isReceive: true }, at).direction).toBe('in');
  });

  it('record002: one content with id <guid>-0, the body and route in raw, a leavemessage subject as subject', () => {
    const m = { appId: 'a', route: 'message' as const, fromUserId: 'u', fromUserName: '', serviceId: '', msgType: 'image', content: 'http://i/p.png', accname: '', raw: { MsgType: 'image', Tag: { t: 1 } } };
    const r = record002(m, at, 'wechat');
    expect(r).toMatchObject({ guid: 'g1', direction: 'in', isReceive: true, channelId: 'wechat', subject: '', raw: { MsgType: 'image', Tag: { t: 1 }, route: 'message' } });
    expect(r.contents).toEqual([{ id: 'g1-0', type: 'picture', url: 'http://i/p.png' }]);
    expect(m.raw).toEqual({ MsgType: 'image', Tag: { t: 1 } });
    expect(record002({ ...m, route: 'leavemessage', msgType: 'text', content: 'c', raw: { subject: 'Help' } }, at, 'sms').subject).toBe('Help');
    expect(record002({ ...m, route: 'message', raw: { subject: 'Help' } }, at, 'sms').subject).toBe('');
  });

  it('pickAccount002: accname as id then as name, else the default, else the first; unknown not_exist, disabled no_right', () => {
    const accs = [account('a1'), account('a2'), account('a3', { enabled: false })];
    expect(pickAccount002(app(), accs, 'a2').channelAccountId).toBe('a2');
    expect(pickAccount002(app(), accs, 'name-a2').channelAccountId).toBe('a2');
    expect(pickAccount002(app({ defaultAccountId: 'a2' }), accs, '').channelAccountId).toBe('a2');
    expect(pickAccount002(app(), accs, '').channelAccountId).toBe('a1');
    expect(kindOf(() => pickAccount002(app(), accs, 'ghost'))).toBe('not_exist');
    expect(kindOf(() => pickAccount002(app(), [], ''))).toBe('not_exist');
    expect(kindOf(() => pickAccount002(app(), accs, 'a3'))).toBe('no_right');
  });

  it('contact changes: absent or empty texts change nothing; a different text or attribute does', () => {
    const old = contact();
    expect(identityChanges(old, { account: 'x' })).toBe(false);
    expect(identityChanges(old, { account: 'x', name: '' })).toBe(false);
    expect(identityChanges(old, { account: 'x', name: 'N' })).toBe(false);
    expect(identityChanges(old, { account: 'x', name: 'M' })).toBe(true);
    expect(identityChanges(old, { account: 'x', attributes: { k: 1 } })).toBe(false);
    expect(identityChanges(old, { account: 'x', attributes: { k: 2 } })).toBe(true);
    expect(contactChanges(old, contact({ name: '' }))).toBe(false);
    expect(contactChanges(old, contact({ screenName: 's' }))).toBe(true);
    expect(contactChanges(old, contact({ attributes: { j: true } }))).toBe(true);
  });

  it('sameSet and isHttpUrl', () => {
    expect(sameSet(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameSet(['a'], ['a', 'b'])).toBe(false);
    expect(sameSet(['a', 'c'], ['a', 'b'])).toBe(false);
    // The scan of small pools and the Set of large ones agree.
    const big = Array.from({ length: 40 }, (_, i) => `agent${i}`);
    expect(sameSet(big, [...big].reverse())).toBe(true);
    expect(sameSet(big, [...big.slice(1), 'other'])).toBe(false);
    expect(sameSet(big.slice(0, 16), big.slice(0, 16).reverse())).toBe(true);
    expect(sameSet(big.slice(0, 16), [...big.slice(1, 16), 'other'])).toBe(false);
    const same = ['x'];
    expect(sameSet(same, same)).toBe(true);
    expect(isHttpUrl('https://h/x')).toBe(true);
    expect(isHttpUrl('ftp://h/x')).toBe(false);
    expect(isHttpUrl('not a url')).toBe(false);
  });
});
