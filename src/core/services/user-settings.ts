import type { Bus } from '../ports/bus.js';
import type { UserSettingStore } from '../ports/store.js';
import type { UserSetting } from '../relations.js';

/** Most settings one user keeps (core/limits.ts bounds each key and value). */
export const MAX_USER_SETTINGS = 10_000;

/**
 * Per-user settings by scope and key (Wildfire's professional user/put_setting, user/get_setting; the
 * SDK's conversation-top calls use scope 3 with the key "type-line-target" and the value "1" or "0").
 * Stored and returned as given: Switchboard itself reads none of them. A put is announced on the bus
 * (`user.setting`) after it commits, so the user's connected devices learn of it live.
 */
export class UserSettingService {
  constructor(
    private readonly store: UserSettingStore,
    private readonly bus: Bus,
  ) {}

  async put(userId: string, scope: number, key: string, value: string): Promise<UserSetting> {
    const setting = await this.store.putSetting(userId, scope, key, value, MAX_USER_SETTINGS);
    await this.bus.publish({ type: 'user.setting', setting });
    return setting;
  }

  /** The setting, or one with the value "" when it was never put. */
  async get(userId: string, scope: number, key: string): Promise<UserSetting> {
    return (await this.store.getSetting(userId, scope, key)) ?? { userId, scope, key, value: '', updateDt: 0 };
  }

  /** Every setting of the user (at most MAX_USER_SETTINGS), by scope then key. */
  list(userId: string): Promise<UserSetting[]> {
    return this.store.listSettings(userId);
  }
}
