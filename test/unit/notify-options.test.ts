import { describe, expect, it } from 'vitest';
import { CoreError } from '../../src/core/errors.js';
import { checkDeliveryOptions, deliveryOptions } from '../../src/core/notify-channels/options.js';
import { channelsPlanner } from '../../src/core/notify-channels/planner.js';
import type { Notification } from '../../src/core/notifications/model.js';

/**
 * The delivery fields of a notification's options (core/notify-channels/options.ts): how they are
 * checked and normalised on add/update, read back, and turned into the escalation timer of a send.
 */
const NOW = Date.parse('2026-12-02T09:00:00Z');

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CoreError);
    expect((e as CoreError).kind).toBe('invalid_parameter');
    return (e as CoreError).detail ?? '';
  }
  throw new Error('expected invalid_parameter');
}

describe('delivery options', () => {
  it('normalise schedule_at (ISO with a zone, or epoch ms) to ms and escalate_method mobile to sms; other keys kept', () => {
    expect(checkDeliveryOptions({ schedule_at: '2026-12-02T17:30:00+08:00', escalate_after_minutes: 1.5, escalate_method: 'mobile', mine: [1] }, NOW)).toEqual({
      schedule_at: Date.parse('2026-12-02T09:30:00Z'),
      escalate_after_minutes: 1.5,
      escalate_method: 'sms',
      mine: [1],
    });
    expect(checkDeliveryOptions({ schedule_at: NOW + 5 }, NOW)).toEqual({ schedule_at: NOW + 5 });
    // A past time is allowed: the send goes out at once.
    expect(checkDeliveryOptions({ schedule_at: '2020-01-01T00:00:00Z' }, NOW)).toEqual({ schedule_at: Date.parse('2020-01-01T00:00:00Z') });
  });

  it('null clears a field (null minutes clear the method too)', () => {
    expect(checkDeliveryOptions({ schedule_at: null, escalate_after_minutes: null, escalate_method: 'email', x: 1 }, NOW)).toEqual({ x: 1 });
    expect(checkDeliveryOptions({ escalate_method: null }, NOW)).toEqual({});
  });

  it('refuses malformed or out-of-range values, naming the field', () => {
    expect(invalid(() => checkDeliveryOptions({ schedule_at: '2026-12-02 10:00' }, NOW))).toContain('schedule_at');
    expect(invalid(() => checkDeliveryOptions({ schedule_at: '2026-12-02T10:00:00' }, NOW))).toContain('time zone');
    expect(invalid(() => checkDeliveryOptions({ schedule_at: 1.5 }, NOW))).toContain('schedule_at');
    expect(invalid(() => checkDeliveryOptions({ schedule_at: NOW + 367 * 86_400_000 }, NOW))).toContain('a year');
    expect(invalid(() => checkDeliveryOptions({ escalate_after_minutes: 10 }, NOW))).toContain('escalate_method');
    expect(invalid(() => checkDeliveryOptions({ escalate_after_minutes: 0.001, escalate_method: 'email' }, NOW))).toContain('escalate_after_minutes');
    expect(invalid(() => checkDeliveryOptions({ escalate_after_minutes: 43_201, escalate_method: 'email' }, NOW))).toContain('escalate_after_minutes');
    expect(invalid(() => checkDeliveryOptions({ escalate_after_minutes: '5', escalate_method: 'email' }, NOW))).toContain('escalate_after_minutes');
    expect(invalid(() => checkDeliveryOptions({ escalate_after_minutes: 5, escalate_method: 'fax' }, NOW))).toContain('escalate_method');
  });

  it('read back leniently; only a sent web notification with a rule gets an escalation timer, due send_at + delay', () => {
    expect(deliveryOptions({ schedule_at: 'junk', escalate_after_minutes: 2, escalate_method: 'pigeon' })).toEqual({ scheduleAt: null, escalate: null });
    const n = {
      id: 'a'.repeat(24),
      sendMethod: 'web',
      sendAt: NOW,
      options: { escalate_after_minutes: 0.5, escalate_method: 'email' },
    } as unknown as Notification;
    expect(channelsPlanner.sentJobs(n)).toEqual([
      expect.objectContaining({ channel: 'notify-timer', kind: 'Notify.Escalate', notBefore: NOW + 30_000, body: { notification: n.id }, ref: `notification:${n.id}:escalate` }),
    ]);
    expect(channelsPlanner.sentJobs({ ...n, sendMethod: 'email' })).toEqual([]);
    expect(channelsPlanner.sentJobs({ ...n, options: {} })).toEqual([]);
  });
});
