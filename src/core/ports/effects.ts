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

/**
 * Several planners as one (callbacks today; channel apps, notifications and robots next), in the
 * given order:
 * - beforeSend asks each planner in turn; the first decision other than `allow` (reject, drop or
 *   replace) is the result and the later planners are not asked. A replacement is therefore final:
 *   no later planner sees or checks the replaced content. All allow: allow.
 * - every after-* hook asks all planners (concurrently) and concatenates their specs in planner
 *   order, so jobs of one planner keep their order within their keys.
 */
export function combinePlanners(planners: readonly EffectsPlanner[]): EffectsPlanner {
  if (planners.length === 0) return NO_EFFECTS;
  if (planners.length === 1) return planners[0]!;
  const all = async <T>(ask: (p: EffectsPlanner) => Promise<T[]>): Promise<T[]> => (await Promise.all(planners.map(ask))).flat();
  return {
    beforeSend: async (f) => {
      for (const p of planners) {
        const d = await p.beforeSend(f);
        if (d.action !== 'allow') return d;
      }
      return { action: 'allow' };
    },
    afterSend: (f) => all((p) => p.afterSend(f)),
    afterRecall: (m, operator, origin) => all((p) => p.afterRecall(m, operator, origin)),
    afterRead: (reader, conv, ts, origin) => all((p) => p.afterRead(reader, conv, ts, origin)),
    membership: (f) => all((p) => p.membership(f)),
    state: (f) => all((p) => p.state(f)),
  };
}
