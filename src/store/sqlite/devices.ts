import { CoreError } from '../../core/errors.js';
import type { Device } from '../../core/model.js';
import { UserType } from '../../core/model.js';
import type { DeviceFields, DeviceStore } from '../../core/ports/store.js';
import type { SqliteContext } from './context.js';
import type { SqliteUsers } from './users.js';

interface DeviceRow {
  device_id: string;
  secret: string;
  extra: string;
  state: number;
  updated_at: number;
}

const COLS = 'device_id, secret, extra, state, updated_at';

/** Device records (tables devices, device_owners), beside their users rows (type 2). */
export class SqliteDevices implements DeviceStore {
  constructor(
    private readonly ctx: SqliteContext,
    private readonly users: SqliteUsers,
  ) {}

  /** Inside a read or command: the device with its owners, or null. */
  private device(deviceId: string): Device | null {
    const r = this.ctx.stmt(`SELECT ${COLS} FROM devices WHERE device_id = ?`).get(deviceId) as DeviceRow | undefined;
    if (!r) return null;
    const owners = (this.ctx.stmt('SELECT user_id FROM device_owners WHERE device_id = ? ORDER BY user_id').all(deviceId) as Array<{ user_id: string }>).map(
      (o) => o.user_id,
    );
    return { deviceId: r.device_id, owners, extra: r.extra, secret: r.secret, state: r.state, updateDt: r.updated_at };
  }

  upsertDevice(deviceId: string, fields: DeviceFields, secret: string): Promise<Device> {
    return this.ctx.write(() => {
      const user = this.users.row(deviceId);
      if (user && user.type !== UserType.thing) throw new CoreError('no_right', `${deviceId} is a user that is not a device`);
      if (!user) this.users.upsertIn(deviceId, { name: deviceId, type: UserType.thing });
      const now = Date.now();
      this.ctx
        .stmt(
          `INSERT INTO devices(device_id, secret, extra, state, updated_at) VALUES (?, ?, ?, 0, ?)
           ON CONFLICT(device_id) DO UPDATE SET extra = excluded.extra, updated_at = excluded.updated_at`,
        )
        .run(deviceId, secret, fields.extra, now);
      this.ctx.stmt('DELETE FROM device_owners WHERE device_id = ?').run(deviceId);
      for (const o of new Set(fields.owners)) this.ctx.stmt('INSERT INTO device_owners(device_id, user_id) VALUES (?, ?)').run(deviceId, o);
      return this.device(deviceId)!;
    });
  }

  getDevice(deviceId: string): Promise<Device | null> {
    return this.ctx.read(() => this.device(deviceId));
  }

  devicesOfUser(userId: string): Promise<Device[]> {
    return this.ctx.read(() =>
      (this.ctx.stmt('SELECT device_id FROM device_owners WHERE user_id = ? ORDER BY device_id').all(userId) as Array<{ device_id: string }>)
        .map((r) => this.device(r.device_id))
        .filter((d): d is Device => d !== null),
    );
  }
}
