import { CoreError } from '../errors.js';
import type { Bus } from '../ports/bus.js';
import type { SettingsStore } from '../ports/store.js';

/**
 * Runtime settings (documents by key, e.g. callback targets managed through the API): every change is
 * stored, then announced on the bus (`cache.invalidate`, scope settings) so every node's copy reloads.
 */
export class SettingsService {
  constructor(
    private readonly store: SettingsStore,
    private readonly bus: Bus,
  ) {}

  get(key: string): Promise<unknown> {
    return this.store.get(key);
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.store.put(key, value);
    await this.bus.publish({ type: 'cache.invalidate', scope: 'settings', id: key });
  }

  /** Returns whether the key existed (nothing is announced when it did not). */
  async remove(key: string): Promise<boolean> {
    const existed = await this.store.remove(key);
    if (existed) await this.bus.publish({ type: 'cache.invalidate', scope: 'settings', id: key });
    return existed;
  }

  /** Wildfire's system setting `id` ({id, value, desc}); not_exist when it was never put. */
  async systemSetting(id: number): Promise<{ id: number; value: string; desc: string }> {
    const v = (await this.store.get(`${SYSTEM_PREFIX}${id}`)) as { value?: unknown; desc?: unknown } | null | undefined;
    if (v === null || v === undefined || typeof v !== 'object') throw new CoreError('not_exist', `no system setting ${id}`);
    return { id, value: typeof v.value === 'string' ? v.value : '', desc: typeof v.desc === 'string' ? v.desc : '' };
  }

  /** Put Wildfire's system setting `id`: value and desc both overwritten; one of them must be non-empty (Wildfire's). */
  async putSystemSetting(id: number, value: string, desc: string): Promise<void> {
    if (value === '' && desc === '') throw new CoreError('invalid_parameter', 'value or desc is required');
    await this.put(`${SYSTEM_PREFIX}${id}`, { value, desc });
  }
}

/** Settings keys of Wildfire's system settings (system/get_setting, system/put_setting). */
export const SYSTEM_PREFIX = 'wildfire.system.';
