import { describe, expect, it } from 'vitest';
import { idleDeadline, isIdle, pickAgent, takeQueued, transferRefusal, type ServiceSession } from '../../src/core/service-session-rules.js';

const session = (over: Partial<ServiceSession> = {}): ServiceSession => ({
  serviceId: 'S1',
  channelAccountId: 'acc',
  contact: 'c1',
  state: 'assigned',
  agent: 'a1',
  openedAt: 1,
  lastActivityAt: 1,
  idleAt: 100,
  closedAt: 0,
  closeReason: '',
  ...over,
});

describe('customer-service session rules', () => {
  it('picks an online agent, the least busy first, ties by pool order', () => {
    const pool = [
      { userId: 'a', online: true, load: 2 },
      { userId: 'b', online: false, load: 0 },
      { userId: 'c', online: true, load: 1 },
      { userId: 'd', online: true, load: 1 },
    ];
    expect(pickAgent(pool)).toBe('c');
    expect(pickAgent(pool, { exclude: ['c'] })).toBe('d');
    expect(pickAgent(pool, { maxLoad: 1 })).toBeNull();
    expect(pickAgent(pool, { maxLoad: 2 })).toBe('c');
  });
  it('queues when nobody of the pool is online', () => {
    expect(pickAgent([{ userId: 'a', online: false, load: 0 }])).toBeNull();
    expect(pickAgent([])).toBeNull();
  });
  it('an agent who connects takes the oldest queued sessions, up to its limit', () => {
    const q = [{ serviceId: '1' }, { serviceId: '2' }, { serviceId: '3' }];
    expect(takeQueued(q, 0).map((s) => s.serviceId)).toEqual(['1', '2', '3']);
    expect(takeQueued(q, 1, 3).map((s) => s.serviceId)).toEqual(['1', '2']);
    expect(takeQueued(q, 5, 3)).toEqual([]);
  });
  it('transfers only open sessions to another agent of the pool', () => {
    expect(transferRefusal(null, 'a2', ['a2'])).toBe('no such session');
    expect(transferRefusal(session({ state: 'closed' }), 'a2', ['a2'])).toMatch(/closed/);
    expect(transferRefusal(session(), 'x', ['a1', 'a2'])).toMatch(/not an agent/);
    expect(transferRefusal(session(), 'a1', ['a1', 'a2'])).toMatch(/already assigned/);
    expect(transferRefusal(session(), 'a2', ['a1', 'a2'])).toBeNull();
    expect(transferRefusal(session({ state: 'queued', agent: '' }), 'a1', ['a1'])).toBeNull();
  });
  it('idles out at its deadline, never once closed', () => {
    expect(idleDeadline(1000, 500)).toBe(1500);
    expect(isIdle(session({ idleAt: 100 }), 99)).toBe(false);
    expect(isIdle(session({ idleAt: 100 }), 100)).toBe(true);
    expect(isIdle(session({ state: 'queued', idleAt: 100 }), 200)).toBe(true);
    expect(isIdle(session({ state: 'closed', idleAt: 100 }), 200)).toBe(false);
  });
});
