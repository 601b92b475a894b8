import type { Conversation, Payload, StoredMessage } from '../model.js';
import type { EffectSpec, NewJob } from './outbox.js';

/** Where a change came from: the admin API, or a device (with its client id, platform and address). */
export type Origin = { kind: 'admin'; ip: string } | { kind: 'device'; ip: string; clientId: string; platform: number };

export interface SendFacts {
  sender: string;
  conv: Conversation;
  payload: Payload;
  toUsers: string[];
  origin: Origin;
  clientMsgId?: string | undefined;
  /**
   * The message's uid and timestamp, reserved on first call: a before-send hook that announces the
   * message's identity calls it, and the message is then stored under that identity.
   */
  identity: () => Promise<{ uid: number; timestamp: number }>;
}

/** What a before-send hook decided. */
export type BeforeSendDecision =
  | { action: 'allow' }
  /** Store, deliver and announce this content instead. */
  | { action: 'replace'; payload: Payload }
  /** Refuse: the sender gets this code and text; nothing is stored or announced. */
  | { action: 'reject'; code: number; msg: string }
  /** Drop silently: the sender is told it was sent, nothing is stored or delivered. */
  | { action: 'drop' };

export interface MembershipFacts {
  groupId: string;
  group: { type: number; name: string; owner: string };
  operator: string;
  change: 'created' | 'dismissed' | 'joined' | 'exited';
  members: string[];
  /** exited: kicked by someone, or quit. */
  how?: 'kicked' | 'quit';
  origin: Origin;
}

export interface StateFacts {
  userId: string;
  action: 'login' | 'logout' | 'disconnect';
  /** Why: a device connected, logged out (revoked), its connection closed, or timed out. */
  reason: 'register' | 'unregister' | 'link_close' | 'timeout';
  origin: Origin;
}

/**
 * Side effects of core changes beyond the store: before-send checks and the outbox jobs announcing
 * changes to the outside (callbacks today). The core asks for them; an implementation (src/callbacks)
 * decides what they are. Specs returned for a change are written in the same transaction as it.
 */
export interface EffectsPlanner {
  beforeSend(f: SendFacts): Promise<BeforeSendDecision>;
  afterSend(f: SendFacts): Promise<EffectSpec[]>;
  afterRecall(message: StoredMessage, operator: string, origin: Origin): Promise<EffectSpec[]>;
  afterRead(reader: string, conv: Conversation, timestamp: number, origin: Origin): Promise<EffectSpec[]>;
  membership(f: MembershipFacts): Promise<EffectSpec[]>;
  state(f: StateFacts): Promise<NewJob[]>;
}

/** No side effects (the default when nothing is configured). */
export const NO_EFFECTS: EffectsPlanner = {
  beforeSend: async () => ({ action: 'allow' }),
  afterSend: async () => [],
  afterRecall: async () => [],
  afterRead: async () => [],
  membership: async () => [],
  state: async () => [],
};
