import crypto from 'node:crypto';
import { CoreError } from '../errors.js';
import type { ContactIdentity, Inbound000, Inbound002 } from './inbound.js';
import { contentOf002 } from './mapping.js';
import type { ChannelAccount, ChannelApp, ChannelContact, ChannelMessage } from './model.js';

/**
 * The channel gateway's pure rules on records (services/channel-apps.ts applies them): the metadata
 * record of an inbound message of each protocol, the account a 002 message goes to, and what counts as
 * a change of a contact or of a conversation's agents.
 */

/** An unambiguous, stable UUID-shaped id for a message of an app (seed 000 guid): the same retry, the same guid. */
export function stableGuid(...parts: string[]): string {
  const h = crypto.hash('sha256', parts.map((p) => `${p.length}:${p}`).join('|'), 'hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Where an inbound message is recorded: its guid, its conversation, account and contact, and the time. */
export interface InboundPlace {
  guid: string;
  conversationId: string;
  channelAccountId: string;
  contactId: string;
  now: number;
}

/**
 * The record of a seed 000 message, every field kept (uid 0 until the store answers). One object literal
 * of a fixed shape: built once per message, never copied by spread on this path.
 */
export function record000(m: Inbound000, at: InboundPlace): ChannelMessage {
  return {
    uid: 0,
    guid: at.guid,
    conversationId: at.conversationId,
    channelAccountId: at.channelAccountId,
    contactId: at.contactId,
    direction: m.isReceive ? 'in' : 'out',
    isReceive: m.isReceive,
    channelId: m.channelId,
    originalMessageId: m.originalMessageId,
    originalParentId: m.originalParentId,
    originalConversationId: m.originalConversationId,
    originalUrl: m.originalUrl,
    subject: m.subject,
    cc: m.cc,
    contents: m.contents,
    createTime: m.createTime,
    raw: m.raw,
    delivery: 'none',
    deliveryError: '',
    originalMessageUrl: '',
    createdAt: at.now,
    updatedAt: at.now,
  };
}

/**
 * The record of a seed 002 message (staffService/message, leavemessage, demand): one content whose id
 * is `<guid>-0` (as an outbound reply's), the whole body and the route in `raw`, a leavemessage's
 * subject kept as the subject.
 */
export function record002(m: Inbound002, at: InboundPlace, channelId: string): ChannelMessage {
  return {
    uid: 0,
    guid: at.guid,
    conversationId: at.conversationId,
    channelAccountId: at.channelAccountId,
    contactId: at.contactId,
    direction: 'in',
    isReceive: true,
    channelId,
    originalMessageId: '',
    originalParentId: '',
    originalConversationId: '',
    originalUrl: '',
    subject: m.route === 'leavemessage' && typeof m.raw['subject'] === 'string' ? m.raw['subject'] : '',
    cc: '',
    contents: [contentOf002(m.msgType, m.content, `${at.guid}-0`)],
    createTime: 0,
    raw: { ...m.raw, route: m.route },
    delivery: 'none',
    deliveryError: '',
    originalMessageUrl: '',
    createdAt: at.now,
    updatedAt: at.now,
  };
}

/** The account of a 002 message among the app's accounts: `accname` (an account id, else an account name), else the app's default, else its first; not_exist / no_right when none fits. */
export function pickAccount002(app: ChannelApp, accounts: ChannelAccount[], accname: string): ChannelAccount {
  const pick =
    accname !== ''
      ? (accounts.find((a) => a.channelAccountId === accname) ?? accounts.find((a) => a.accountName === accname))
      : app.defaultAccountId !== ''
        ? accounts.find((a) => a.channelAccountId === app.defaultAccountId)
        : accounts[0];
  if (!pick) throw new CoreError('not_exist', accname !== '' ? `app ${app.appId} has no account ${accname}` : `app ${app.appId} has no account`);
  if (!pick.enabled) throw new CoreError('no_right', `channel account ${pick.channelAccountId} is disabled`);
  return pick;
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** Whether two lists hold the same members (a conversation's agents against its account's). */
export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  // An agent pool is small: a scan per member costs less than building a Set (every inbound message asks).
  if (a.length <= 16) {
    for (const x of b) if (!a.includes(x)) return false;
    return true;
  }
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

const CONTACT_TEXTS = ['name', 'avatarUrl', 'originalContactInfoUrl', 'originalContactPageUrl', 'screenName'] as const;

/** contactChanges for an identity as given (absent fields change nothing), without building the contact. */
export function identityChanges(old: ChannelContact, id: ContactIdentity): boolean {
  for (const k of CONTACT_TEXTS) {
    const v = id[k];
    if (v !== undefined && v !== '' && v !== old[k]) return true;
  }
  if (id.attributes) for (const [k, v] of Object.entries(id.attributes)) if (JSON.stringify(old.attributes[k]) !== JSON.stringify(v)) return true;
  return false;
}

/** Whether an identity would change a stored contact (non-empty texts differ, or new attributes). */
export function contactChanges(old: ChannelContact, next: ChannelContact): boolean {
  for (const k of CONTACT_TEXTS) if (next[k] !== '' && next[k] !== old[k]) return true;
  for (const [k, v] of Object.entries(next.attributes)) if (JSON.stringify(old.attributes[k]) !== JSON.stringify(v)) return true;
  return false;
}
