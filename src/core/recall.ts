import type { Payload, StoredMessage } from './model.js';
import { PersistFlag } from './model.js';

export const RECALL_CONTENT_TYPE = 80;

/**
 * The original of a recalled message, as Wildfire keeps it in the recall notification's `extra` and as
 * /admin/message/recall returns it: s sender, ts timestamp, t content type, sc searchableContent,
 * c content, e extra; b base64edData, mt mediaType and mu remoteMediaUrl only when set.
 */
export function recallOriginal(m: StoredMessage): string {
  const p = m.payload;
  const o: Record<string, string | number> = { s: m.sender, ts: m.timestamp, t: p.type, sc: p.searchableContent, c: p.content, e: p.extra };
  if (p.base64edData) o['b'] = p.base64edData;
  if (p.mediaType > 0) o['mt'] = p.mediaType;
  if (p.remoteMediaUrl) o['mu'] = p.remoteMediaUrl;
  return JSON.stringify(o);
}

/**
 * The recall notification that replaces a message in place (same uid): type 80, content = operator,
 * data = the uid as a decimal string (base64 on the wire), pushData = {"messageUid":uid}, extra = the original.
 */
export function recallPayload(m: StoredMessage, operator: string): Payload {
  return {
    type: RECALL_CONTENT_TYPE,
    searchableContent: '',
    pushContent: '',
    pushData: JSON.stringify({ messageUid: m.uid }),
    content: operator,
    base64edData: Buffer.from(String(m.uid), 'utf8').toString('base64'),
    mediaType: 0,
    remoteMediaUrl: '',
    persistFlag: PersistFlag.persist,
    expireDuration: 0,
    mentionedType: 0,
    mentionedTarget: [],
    extra: recallOriginal(m),
  };
}
