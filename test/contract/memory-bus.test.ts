import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../src/bus/memory-bus.js';
import type { HubEvent } from '../../src/core/events.js';

describe('MemoryBus (backend-specific)', () => {
  const ev: HubEvent = { type: 'cache.invalidate', scope: 'channel', id: 'c' };

  it('delivers synchronously, before publish resolves', () => {
    const bus = new MemoryBus();
    const got: HubEvent[] = [];
    bus.subscribe((e) => got.push(e));
    void bus.publish(ev);
    expect(got).toEqual([ev]);
  });

  it('reports a subscriber failure to onHandlerError', async () => {
    const errors: unknown[] = [];
    const bus = new MemoryBus((e) => errors.push(e));
    const boom = new Error('boom');
    bus.subscribe(() => {
      throw boom;
    });
    await bus.publish(ev);
    expect(errors).toEqual([boom]);
  });
});
