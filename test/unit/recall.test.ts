import { describe, expect, it } from 'vitest';
import { ConvType, MessageKind, MessageStatus, PersistFlag, type StoredMessage } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { RECALL_CONTENT_TYPE, recallOriginal, recallPayload } from '../../src/core/recall.js';

function message(over: Partial<StoredMessage['payload']> = {}): StoredMessage {
  return {
    uid: 123456789012345,
    sender: 'alice',
    conv: { type: ConvType.single, target: 'bob', line: 0 },
    payload: { ...normalizePayload({ type: 1, searchableContent: 'hello', content: 'c', extra: 'x', persistFlag: PersistFlag.count }), ...over },
    toUsers: [],
    kind: MessageKind.conversation,
    status: MessageStatus.normal,
    timestamp: 1_700_000_000_123,
    updatedAt: 0,
    clientId: '',
    platform: 0,
  };
}

describe('recallOriginal', () => {
  it("uses Wildfire's keys s, ts, t, sc, c, e and omits b, mt, mu when unset", () => {
    const o = JSON.parse(recallOriginal(message())) as Record<string, unknown>;
    expect(o).toEqual({ s: 'alice', ts: 1_700_000_000_123, t: 1, sc: 'hello', c: 'c', e: 'x' });
  });

  it('adds b, mt and mu when the message has media', () => {
    const o = JSON.parse(recallOriginal(message({ base64edData: 'AAEC', mediaType: 3, remoteMediaUrl: 'https://m/x.jpg' }))) as Record<string, unknown>;
    expect(o).toMatchObject({ b: 'AAEC', mt: 3, mu: 'https://m/x.jpg' });
  });

  it('escapes content safely (round-trips through JSON)', () => {
    const tricky = 'quote " backslash \\ newline \n emoji 😀';
    const o = JSON.parse(recallOriginal(message({ content: tricky }))) as Record<string, unknown>;
    expect(o['c']).toBe(tricky);
  });
});

describe('recallPayload', () => {
  it('builds the type-80 notification that replaces the message in place', () => {
    const m = message();
    const p = recallPayload(m, 'admin');
    expect(p.type).toBe(RECALL_CONTENT_TYPE);
    expect(RECALL_CONTENT_TYPE).toBe(80);
    expect(p.content).toBe('admin');
    expect(Buffer.from(p.base64edData, 'base64').toString('utf8')).toBe(String(m.uid));
    expect(JSON.parse(p.pushData)).toEqual({ messageUid: m.uid });
    expect(p.extra).toBe(recallOriginal(m));
    expect(p.persistFlag).toBe(PersistFlag.persist);
    expect(p).toMatchObject({ searchableContent: '', pushContent: '', mediaType: 0, remoteMediaUrl: '', expireDuration: 0, mentionedType: 0, mentionedTarget: [] });
  });

  it('is a valid payload by the normal rules', () => {
    const p = recallPayload(message({ expireDuration: 30 }), 'op');
    expect(normalizePayload(p)).toEqual(p);
    expect(p.expireDuration, 'a recall notification does not expire with the original').toBe(0);
  });

  it('does not change the original message', () => {
    const m = message();
    const copy = structuredClone(m);
    recallPayload(m, 'op');
    expect(m).toEqual(copy);
  });
});
