import { CoreError } from '../errors.js';
import type { Device } from '../model.js';
import type { Bus } from '../ports/bus.js';
import type { Store } from '../ports/store.js';
import { newId, newToken } from '../tokens.js';
import type { UserService } from './users.js';

/**
 * Devices (Wildfire professional edition's device/* routes): a device is a user of type 2 whose id is
 * the device id, owned by users, with a secret and a login token. Its token is bound to client id =
 * device id and shown once, by create (only its hash is kept).
 */
export class DeviceService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly users: UserService,
  ) {}

  /**
   * Create or update a device (a missing id is generated; owners replaced, extra overwritten, the
   * secret kept) and issue it a fresh token (earlier ones stay valid until they expire).
   */
  async createOrUpdate(deviceId: string | undefined, owners: string[], extra: string): Promise<{ deviceId: string; token: string; secret: string }> {
    const id = deviceId && deviceId !== '' ? deviceId : newId();
    const d = await this.store.devices.upsertDevice(id, { owners, extra }, newToken());
    await this.bus.publish({ type: 'cache.invalidate', scope: 'user', id });
    const token = await this.users.issueToken(id, id, 0);
    return { deviceId: id, token, secret: d.secret };
  }

  async get(deviceId: string): Promise<Device> {
    const d = await this.store.devices.getDevice(deviceId);
    if (!d) throw new CoreError('not_exist', `device ${deviceId} does not exist`);
    return d;
  }

  /** The devices a user owns (none for an unknown user). */
  ofUser(userId: string): Promise<Device[]> {
    return this.store.devices.devicesOfUser(userId);
  }
}
