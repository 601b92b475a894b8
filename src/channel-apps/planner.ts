import crypto from 'node:crypto';
import { BoundedCache } from '../core/bounded-cache.js';
import { accountUserId, isChannelConversationId, type ChannelApp, type ChannelConfigRecords, type ChannelContent, type ChannelConversation } from '../core/channel-apps/model.js';
import { ConvType, PersistFlag, type User } from '../core/model.js';
import { NO_EFFECTS, type EffectsPlanner, type SendFacts } from '../core/ports/effects.js';
import type { EffectSpec } from '../core/ports/outbox.js';
import type { Store } from '../core/ports/store.js';
import { outboundRecord, type OutboundMeta } from '../core/services/channel-deliveries.js';
import { body000, body002, contents000, type OutboundFacts } from './outbound.js';
import { CHANNEL_APP, KIND_000, KIND_002 } from './sender.js';

/** The seed 000 guid of an outbound message: a UUID-shaped digest of its uid (stable, unique, not guessable from the uid alone). */
export function outboundGuid(uid: number): string {
  const h = crypto.createHash('sha256').update(`switchboard-out:${uid}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The stable idempotency key of a message sent to a channel app (header `Idempotency-Key`). */
export function idempotencyKey(uid: number): string {
  return `switchboard-msg-${uid}`;
}

/** The agent's work number (seed 002 WorkerNum): `workerNum` in the user's extra JSON, else the user id. */
export function workerNumOf(u: Pick<User, 'userId' | 'extra'>): string {
  // Most users have no extra: no parse (a parse error costs a thrown exception per reply).
  if (!u.extra) return u.userId;
  try {
    const v = JSON.parse(u.extra) as { workerNum?: unknown };
    if (typeof v.workerNum === 'string' && v.workerNum !== '') return v.workerNum;
    if (typeof v.workerNum === 'number') return String(v.workerNum);
  } catch {
    // no JSON extra
  }
  return u.userId;
}

/** Reads a configuration record by kind and id (null when unknown). */
export type ConfigRecords = <K extends 'app' | 'channelAccount'>(kind: K, id: string) => Promise<ChannelConfigRecords[K] | null>;

/** The immutable part of a channel conversation. */
type ConversationFacts = Pick<ChannelConversation, 'conversationId' | 'channelAccountId' | 'contactId' | 'originalConversationId'>;

/** Conversations whose facts a planner keeps, at most, and for how long (ms). */
const CONVERSATIONS_CACHED = 50_000;
const CONVERSATION_MAX_AGE_MS = 10 * 60_000;

export type PlannerStore = {
  channelApps: Pick<Store['channelApps'], 'getConversation' | 'getConfig' | 'getContact'>;
  users: Pick<Store['users'], 'getUser'>;
  serviceSessions: Pick<Store['serviceSessions'], 'current'>;
};

/**
 * The outbound side of the channel gateway as an EffectsPlanner: a message stored in a channel
 * conversation (an IM group `cc_…`, see core/channel-apps/model.ts) by anyone but the contact or the
 * account's own user is an agent's reply, and becomes one outbox job of channel `channel-app` to the
 * account's app, committed with the message together with the reply's channel metadata (status
 * pending, ChannelMessageRecord). The body is the app's protocol (002 or 000) built now;
 * the timestamp and signature are added per attempt by the Sender. Transparent messages (persistFlag
 * 4, never stored) are not sent. Jobs of one conversation are delivered in order (order key).
 */
export class ChannelAppPlanner implements EffectsPlanner {
  private readonly records: ConfigRecords;
  /**
   * What the planner reads of a conversation, by id: its account, contact and original thread never
   * change (its id is derived from them), so they are kept per node and a contact's message, which
   * plans nothing, costs no store read.
   */
  private readonly conversations = new BoundedCache<ConversationFacts>(CONVERSATIONS_CACHED, CONVERSATION_MAX_AGE_MS);

  /** `records`: configuration records, from a per-node cache (the channel-app service's); the store by default. */
  constructor(
    private readonly store: PlannerStore,
    records?: ConfigRecords,
  ) {
    this.records = records ?? ((kind, id) => store.channelApps.getConfig(kind, id));
  }

  beforeSend = NO_EFFECTS.beforeSend;
  afterRecall = NO_EFFECTS.afterRecall;
  afterRead = NO_EFFECTS.afterRead;
  membership = NO_EFFECTS.membership;
  state = NO_EFFECTS.state;

  private async conversation(id: string): Promise<ConversationFacts | null> {
    const hit = this.conversations.get(id);
    if (hit) return hit.value;
    const c = await this.store.channelApps.getConversation(id);
    // Not cached when absent: the conversation may be opened later under this id.
    if (c) this.conversations.set(id, { conversationId: c.conversationId, channelAccountId: c.channelAccountId, contactId: c.contactId, originalConversationId: c.originalConversationId });
    return c;
  }

  async afterSend(f: SendFacts): Promise<EffectSpec[]> {
    if (f.conv.type !== ConvType.group || !isChannelConversationId(f.conv.target)) return [];
    if (f.payload.persistFlag === PersistFlag.transparent) return [];
    // Cached (every message of a known conversation, the contact's own included): no await.
    const conv = this.conversations.get(f.conv.target)?.value ?? (await this.conversation(f.conv.target));
    if (!conv) return [];
    if (f.sender === conv.contactId || f.sender === accountUserId(conv.channelAccountId)) return [];
    const account = await this.records('channelAccount', conv.channelAccountId);
    if (!account) return [];
    const app: ChannelApp | null = await this.records('app', account.appId);
    if (!app) return [];
    const [contact, agent, session] = await Promise.all([
      this.store.channelApps.getContact(conv.contactId),
      this.store.users.getUser({ userId: f.sender }),
      this.store.serviceSessions.current(conv.channelAccountId, conv.contactId),
    ]);
    if (!contact) return [];
    const { uid, timestamp } = await f.identity();
    const guid = outboundGuid(uid);
    const facts: OutboundFacts = {
      guid,
      timestamp,
      payload: f.payload,
      contact: {
        account: contact.account,
        name: contact.name,
        avatarUrl: contact.avatarUrl,
        originalContactInfoUrl: contact.originalContactInfoUrl,
        originalContactPageUrl: contact.originalContactPageUrl,
        screenName: contact.screenName,
      },
      channelAccountId: conv.channelAccountId,
      channelId: account.channelId,
      ...(session ? { serviceId: session.serviceId } : {}),
      workerNum: agent ? workerNumOf(agent) : f.sender,
      workerName: agent ? agent.displayName || agent.name || agent.userId : f.sender,
      ...(conv.originalConversationId ? { originalConversationId: conv.originalConversationId } : {}),
    };
    const contents: ChannelContent[] = contents000(guid, f.payload);
    const meta: OutboundMeta = {
      idempotencyKey: idempotencyKey(uid),
      uid: String(uid),
      guid,
      conversationId: conv.conversationId,
      channelAccountId: conv.channelAccountId,
      contactId: conv.contactId,
      channelId: account.channelId,
      contents: JSON.stringify(contents),
      recorded: '1',
    };
    const kind = app.protocol === '000' ? KIND_000 : KIND_002;
    return [
      {
        channel: CHANNEL_APP,
        target: app.appId,
        orderKey: `${app.appId}|${conv.conversationId}`,
        kind,
        body: app.protocol === '000' ? body000(facts) : { ...body002(facts) },
        meta: { ...meta },
        ref: `msg:${uid}`,
        // The reply's channel metadata (pending) commits with the job: no attempt has to record it.
        records: [{ kind: 'channel.message', message: outboundRecord(meta, { appId: app.appId, kind, createTime: timestamp }, timestamp) }],
      },
    ];
  }
}
