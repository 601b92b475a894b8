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
}
