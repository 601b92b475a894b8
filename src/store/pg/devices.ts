import { CoreError } from '../../core/errors.js';
import type { Device } from '../../core/model.js';
import { UserType } from '../../core/model.js';
import type { DeviceFields, DeviceStore } from '../../core/ports/store.js';
import type { PgContext } from './context.js';
import type { Queryable } from './pool.js';
import { upsertUserIn } from './users.js';

interface DeviceRow {
  device_id: string;
  secret: string;
  extra: string;
  state: number;
  updated_at: number;
  owners: string[];
}

/** Devices with their owners (by owner id), in one statement. */
const DEVICES_SQL = `
  SELECT d.device_id, d.secret, d.extra, d.state, d.updated_at,
    COALESCE((SELECT array_agg(o.user_id ORDER BY o.user_id COLLATE "C") FROM device_owners o WHERE o.device_id = d.device_id), '{}') AS owners
  FROM devices d`;

function toDevice(r: DeviceRow): Device {
  return { deviceId: r.device_id, owners: r.owners, extra: r.extra, secret: r.secret, state: r.state, updateDt: r.updated_at };
}

async function device(q: Queryable, deviceId: string): Promise<Device | null> {
  const r = await q.row<DeviceRow>(`${DEVICES_SQL} WHERE d.device_id = $1`, [deviceId]);
  return r ? toDevice(r) : null;
}

/** Device records (tables devices, device_owners) on PostgreSQL, beside their users rows (type 2). */
export class PgDevices implements DeviceStore {
  constructor(private readonly ctx: PgContext) {}

  upsertDevice(deviceId: string, fields: DeviceFields, secret: string): Promise<Device> {
    return this.ctx.write(async (tx) => {
      const user = await tx.row<{ type: number }>('SELECT type FROM users WHERE id = $1', [deviceId]);
      if (user && user.type !== UserType.thing) throw new CoreError('no_right', `${deviceId} is a user that is not a device`);
      if (!user) await upsertUserIn(tx, deviceId, { name: deviceId, type: UserType.thing });
      // The secret is kept on update; the owners are replaced.
      await tx.run(
        `WITH d AS (INSERT INTO devices(device_id, secret, extra, state, updated_at) VALUES ($1, $2, $3, 0, $4)
                    ON CONFLICT (device_id) DO UPDATE SET extra = EXCLUDED.extra, updated_at = EXCLUDED.updated_at),
         gone AS (DELETE FROM device_owners WHERE device_id = $1 AND NOT (user_id = ANY($5::text[])))
         INSERT INTO device_owners(device_id, user_id) SELECT $1, u FROM unnest($5::text[]) AS x(u) ON CONFLICT DO NOTHING`,
        [deviceId, secret, fields.extra, Date.now(), [...new Set(fields.owners)]],
      );
      return (await device(tx, deviceId))!;
    });
  }

  getDevice(deviceId: string): Promise<Device | null> {
    return device(this.ctx.db, deviceId);
  }

  async devicesOfUser(userId: string): Promise<Device[]> {
    const rows = await this.ctx.db.rows<DeviceRow>(
      `${DEVICES_SQL} WHERE d.device_id IN (SELECT device_id FROM device_owners WHERE user_id = $1) ORDER BY d.device_id COLLATE "C"`,
      [userId],
    );
    return rows.map(toDevice);
  }
}
