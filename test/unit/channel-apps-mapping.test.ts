import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { addEntry, PlatformAuth } from '../../src/api/platform/auth.js';
import { PlatformAuthError } from '../../src/api/platform/envelope.js';
import { StaffSignatures, staffSignature, timestampMs } from '../../src/api/staff/signature.js';
import { isPrivateAddress } from '../../src/channel-apps/contact-info.js';
import { contentOf002, contentType, htmlToText, toPayload } from '../../src/core/channel-apps/mapping.js';
import { accountUserId, contactIdOf, conversationIdOf, isChannelConversationId } from '../../src/core/channel-apps/model.js';

/** The channel gateway's pure parts: payload mapping, IM ids, signatures, address checks. */

const meta = (contents: Parameters<typeof toPayload>[0]['contents']) => ({
  guid: 'g',
  conversationId: 'cc',
  channelAccountId: 'acc',
  contactId: 'cu',
  direction: 'in' as const,
  isReceive: true,
  channelId: 'email',
  originalMessageId: '',
  originalParentId: '',
  originalConversationId: '',
  originalUrl: '',
  subject: 'S',
  cc: '',
  contents,
  createTime: 0,
  raw: {},
});

describe('channel gateway mapping', () => {
  it('content types in either case; unknown ones undefined', () => {
    expect(contentType('Text')).toBe('text');
    expect(contentType('HTMLTEXT')).toBe('htmlText');
    expect(contentType('picture')).toBe('picture');
    expect(contentType('image')).toBeUndefined();
  });

  it('HTML to text: tags and scripts dropped, entities decoded, blanks collapsed', () => {
    expect(htmlToText('<p>Hello&nbsp;<b>there</b></p><script>x()</script><div>a &amp; b &lt;c&gt;</div>')).toBe('Hello there\na & b <c>');
  });

  it('each content type becomes its seed 001 payload; the first content decides; the metadata is in extra', () => {
    const at = (c: Parameters<typeof toPayload>[0]['contents'][number]) => toPayload(meta([c]));
    expect(at({ id: '1', type: 'text', text: 'hi' })).toMatchObject({ type: 1, searchableContent: 'hi', persistFlag: 3 });
    expect(at({ id: '1', type: 'picture', url: 'u', title: 't' })).toMatchObject({ type: 3, mediaType: 1, remoteMediaUrl: 'u', searchableContent: 't' });
    expect(at({ id: '1', type: 'audio', url: 'u' })).toMatchObject({ type: 2, mediaType: 2, remoteMediaUrl: 'u' });
    expect(at({ id: '1', type: 'video', url: 'u', previewUrl: 'p' })).toMatchObject({ type: 6, mediaType: 3, content: 'p' });
    expect(at({ id: '1', type: 'file', url: 'u', name: 'n.pdf' })).toMatchObject({ type: 5, mediaType: 4, searchableContent: 'n.pdf' });
    const loc = at({ id: '1', type: 'location', latitude: '31.2', longitude: 'x', scale: '15', title: 'Office' });
    expect(loc).toMatchObject({ type: 4, searchableContent: 'Office' });
    expect(JSON.parse(loc.content)).toEqual({ lat: 31.2, long: 0, scale: '15' });
    const two = toPayload(meta([{ id: 'a', type: 'text', text: 'body' }, { id: 'b', type: 'file', url: 'u' }]));
    expect(two.type).toBe(1);
    expect(JSON.parse(two.extra)).toMatchObject({ channel: { subject: 'S', contents: [{ id: 'a' }, { id: 'b' }] } });
    expect(toPayload(meta([]))).toMatchObject({ type: 1, searchableContent: '' });
  });

  it('seed 002 MsgTypes as contents', () => {
    expect(contentOf002('image', 'http://x/a.jpg', 'i')).toEqual({ id: 'i', type: 'picture', url: 'http://x/a.jpg' });
    expect(contentOf002('voice', 'u', 'i')).toMatchObject({ type: 'audio' });
    expect(contentOf002('file', 'http://x/d/a%20b.pdf', 'i')).toMatchObject({ type: 'file', name: 'a b.pdf' });
    expect(contentOf002('file', 'not a url', 'i')).toMatchObject({ type: 'file', name: '' });
    expect(contentOf002('event.CLICK.RG', 'RG', 'i')).toEqual({ id: 'i', type: 'text', text: 'RG' });
  });

  it('IM ids: derived, distinct per part, recognisable', () => {
    expect(contactIdOf('a', 'b')).toBe(contactIdOf('a', 'b'));
    expect(contactIdOf('a', 'bc')).not.toBe(contactIdOf('ab', 'c'));
    expect(accountUserId('a')).toMatch(/^ca_[0-9a-f]{32}$/);
    const conv = conversationIdOf('a', contactIdOf('a', 'b'), '');
    expect(isChannelConversationId(conv)).toBe(true);
    expect(conv).not.toBe(conversationIdOf('a', contactIdOf('a', 'b'), 't'));
    expect(isChannelConversationId('cc_short')).toBe(false);
  });
});

describe('channel gateway authentication', () => {
  it('seed 002 signature: sha1(appid + secret + timestamp), exact lowercase compare; ms or s timestamps', () => {
    // sha1("1001" + "secret" + "1407812629434")
    const sig = staffSignature('1001', 'secret', '1407812629434');
    expect(sig).toMatch(/^[0-9a-f]{40}$/);
    const check = new StaffSignatures();
    expect(check.matches('1001', 'secret', '1407812629434', sig)).toBe(true);
    expect(check.matches('1001', 'secret', '1407812629434', sig.toUpperCase())).toBe(false);
    expect(check.matches('1001', 'secret', '1407812629434', sig.slice(1))).toBe(false);
    expect(timestampMs('1407812629434')).toBe(1407812629434);
    expect(timestampMs('1407812629')).toBe(1407812629000);
    expect(timestampMs('-1')).toBeUndefined();
    expect(timestampMs('1e12')).toBeUndefined();
    expect(timestampMs('')).toBeUndefined();
  });

  it('seed 002 signature, remembered per app for its latest timestamp: never matched across a changed secret, timestamp or app', () => {
    const s = new StaffSignatures();
    const sig = staffSignature('1001', 'secret', '1407812629434');
    expect(s.matches('1001', 'secret', '1407812629434', sig)).toBe(true);
    expect(s.matches('1001', 'secret', '1407812629434', sig)).toBe(true);
    expect(s.matches('1001', 'secret', '1407812629434', sig.toUpperCase())).toBe(false);
    expect(s.matches('1001', 'secret', '1407812629434', '')).toBe(false);
    expect(s.matches('1001', 'other', '1407812629434', sig)).toBe(false);
    expect(s.matches('1001', 'secret', '1407812629435', sig)).toBe(false);
    expect(s.matches('1002', 'secret', '1407812629434', sig)).toBe(false);
    expect(s.matches('1001', 'secret', '1407812629434', sig)).toBe(true);
  });

  it('platform key and allow-list', () => {
    const open = new PlatformAuth({ key: 'k', allowIps: [] });
    expect(() => open.check('Bearer k', '203.0.113.9')).not.toThrow();
    expect(() => open.check('Bearer kk', '203.0.113.9')).toThrow(PlatformAuthError);
    expect(() => open.check(undefined, '203.0.113.9')).toThrow(PlatformAuthError);
    const fenced = new PlatformAuth({ key: 'k', allowIps: ['10.0.0.0/8', '::1'] });
    expect(() => fenced.check('Bearer k', '10.1.2.3')).not.toThrow();
    expect(() => fenced.check('Bearer k', '::ffff:10.1.2.3')).not.toThrow();
    expect(() => fenced.check('Bearer k', '::1')).not.toThrow();
    expect(() => fenced.check('Bearer k', '11.0.0.1')).toThrow(/address not allowed/);
    expect(() => addEntry(new net.BlockList(), 'not-an-ip')).toThrow(/platformAllowIps/);
    expect(() => addEntry(new net.BlockList(), '10.0.0.0/33')).toThrow(/prefix/);
  });

  it('private addresses for contact info URLs', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', 'not an ip']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });
});
