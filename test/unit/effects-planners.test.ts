/**
 * combinePlanners (src/core/ports/effects.ts): several EffectsPlanners as one, as the Hub uses them.
 * Before-send: the first decision other than allow wins, in planner order, and later planners are not
 * asked; after-* specs: every planner's, concatenated in planner order.
 */
import { describe, expect, it } from 'vitest';
import { ConvType, type Conversation, type StoredMessage } from '../../src/core/model.js';
import { normalizePayload } from '../../src/core/payload.js';
import { combinePlanners, NO_EFFECTS, type BeforeSendDecision, type EffectsPlanner, type Origin, type SendFacts } from '../../src/core/ports/effects.js';
import type { EffectSpec } from '../../src/core/ports/outbox.js';

const origin: Origin = { kind: 'admin', ip: '' };
const conv: Conversation = { type: ConvType.single, target: 'b', line: 0 };
const facts: SendFacts = {
  sender: 'a',
  conv,
  payload: normalizePayload({ type: 1, searchableContent: 'hi' }),
  toUsers: [],
  origin,
  identity: async () => ({ uid: 1, timestamp: 1 }),
};

const spec = (channel: string, kind: string): EffectSpec => ({ channel, target: 't', orderKey: 'k', kind, body: {}, meta: {} });

/** A planner that answers `decision` before send, records that it was asked, and plans one job per hook. */
function planner(name: string, decision: BeforeSendDecision, asked: string[]): EffectsPlanner {
  const one = async (hook: string): Promise<EffectSpec[]> => [spec(name, hook)];
  return {
    beforeSend: async () => {
      asked.push(name);
      return decision;
    },
    afterSend: () => one('send'),
    afterRecall: () => one('recall'),
    afterRead: () => one('read'),
    membership: () => one('membership'),
    state: () => one('state'),
  };
}

describe('combinePlanners', () => {
  it('no planner is NO_EFFECTS; one planner is itself', () => {
    expect(combinePlanners([])).toBe(NO_EFFECTS);
    const p = planner('x', { action: 'allow' }, []);
    expect(combinePlanners([p])).toBe(p);
  });

  it('before-send: every planner allows, then allow; each asked once, in order', async () => {
    const asked: string[] = [];
    const c = combinePlanners([planner('a', { action: 'allow' }, asked), planner('b', { action: 'allow' }, asked), planner('c', { action: 'allow' }, asked)]);
    expect(await c.beforeSend(facts)).toEqual({ action: 'allow' });
    expect(asked).toEqual(['a', 'b', 'c']);
  });

  it('before-send: the first reject, drop or replace wins; later planners are not asked', async () => {
    const replaced = normalizePayload({ type: 1, searchableContent: 'masked' });
    const cases: BeforeSendDecision[] = [{ action: 'reject', code: 1001, msg: 'no' }, { action: 'drop' }, { action: 'replace', payload: replaced }];
    for (const d of cases) {
      const asked: string[] = [];
      const c = combinePlanners([
        planner('a', { action: 'allow' }, asked),
        planner('b', d, asked),
        planner('c', { action: 'reject', code: 9, msg: 'never asked' }, asked),
      ]);
      expect(await c.beforeSend(facts), d.action).toEqual(d);
      expect(asked, d.action).toEqual(['a', 'b']);
    }
  });

  it('after-* hooks: every planner\'s specs, concatenated in planner order', async () => {
    const c = combinePlanners([planner('webhook', { action: 'allow' }, []), planner('sms', { action: 'allow' }, []), planner('robot', { action: 'allow' }, [])]);
    const order = (xs: EffectSpec[]): string[] => xs.map((x) => `${x.channel}:${x.kind}`);
    expect(order(await c.afterSend(facts))).toEqual(['webhook:send', 'sms:send', 'robot:send']);
    expect(order(await c.afterRecall({} as StoredMessage, 'a', origin))).toEqual(['webhook:recall', 'sms:recall', 'robot:recall']);
    expect(order(await c.afterRead('b', conv, 1, origin))).toEqual(['webhook:read', 'sms:read', 'robot:read']);
    expect(
      order(await c.membership({ groupId: 'g', group: { type: 0, name: 'G', owner: 'o' }, operator: 'o', change: 'joined', members: ['m'], origin })),
    ).toEqual(['webhook:membership', 'sms:membership', 'robot:membership']);
    expect(order(await c.state({ userId: 'u', action: 'login', reason: 'register', origin }))).toEqual(['webhook:state', 'sms:state', 'robot:state']);
  });

  it('a planner that fails fails the combined hook (as a single planner would)', async () => {
    const failing: EffectsPlanner = { ...NO_EFFECTS, afterSend: () => Promise.reject(new Error('planner down')) };
    const c = combinePlanners([planner('a', { action: 'allow' }, []), failing]);
    await expect(c.afterSend(facts)).rejects.toThrow('planner down');
  });
});
