import { describe, expect, it } from 'vitest';
import { Limiter } from '../../src/delivery/limiter.js';

describe('Limiter', () => {
  it('runs at most `max` tasks at once, the others in call order, and passes results and failures through', async () => {
    const l = new Limiter(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const gates: Array<() => void> = [];
    const tasks = Array.from({ length: 5 }, (_, i) =>
      l.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => gates.push(r));
        running--;
        if (i === 3) throw new Error('task 3 fails');
        return i * 10;
      }).then(
        (v): number | string => v,
        (): number | string => 'failed',
      ),
    );
    // Release each waiting task as soon as it has started, one by one.
    for (let released = 0; released < 5; released++) {
      while (gates.length === 0) await new Promise<void>((r) => setImmediate(r));
      gates.shift()!();
    }
    const results = await Promise.all(tasks);
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(results).toEqual([0, 10, 20, 'failed', 40]);
  });
});
