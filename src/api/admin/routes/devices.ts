import { Type, type Static } from '@sinclair/typebox';
import type { Hub } from '../../../core/hub.js';
import { MAX_DEVICE_OWNERS, MAX_ID_LENGTH } from '../../../core/limits.js';
import type { Device } from '../../../core/model.js';
import { stringList } from '../../../core/payload.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { Id, Int, OptExtra, OptId, Str, StrList } from '../schemas.js';

const tags = ['devices'];

/** Wildfire's OutputDevice; `token` is "" here: a device's token is shown once, by device/create. */
const DeviceOut = Type.Object({ deviceId: Str, token: Str, secret: Str, state: Int, owners: StrList, extra: Str });

function deviceOut(d: Device): Static<typeof DeviceOut> {
  return { deviceId: d.deviceId, token: '', secret: d.secret, state: d.state, owners: d.owners, extra: d.extra };
}

/** Wildfire professional edition's device routes (the SDK's UserAdmin.createOrUpdateDevice, getDevice, getUserDevices). */
export function deviceRoutes(hub: Hub): AdminRouteDef[] {
  return [
    adminRoute({
      path: '/device/create',
      summary: 'Create or update a device (a user of type 2 named by its id; missing deviceId generated) with its owners and extra; answers a fresh login token and the secret',
      tags,
      body: Type.Object(
        {
          deviceId: OptId,
          owners: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }), { maxItems: MAX_DEVICE_OWNERS }), Type.Null()])),
          extra: OptExtra,
        },
        { additionalProperties: true },
      ),
      result: Type.Object({ deviceId: Str, token: Str, secret: Str }),
      handler: async (b) => hub.devices.createOrUpdate(b.deviceId ?? undefined, stringList(b.owners, 'owners'), b.extra ?? ''),
    }),
    adminRoute({
      path: '/device/get',
      summary: 'A device: owners, extra, secret, state (token is "": only device/create shows it); 253 for an unknown device',
      tags,
      body: Type.Object({ deviceId: Id }),
      result: DeviceOut,
      handler: async (b) => deviceOut(await hub.devices.get(b.deviceId)),
    }),
    adminRoute({
      path: '/device/user_devices',
      summary: 'The devices a user owns (empty for an unknown user)',
      tags,
      body: Type.Object({ userId: Id }),
      result: Type.Object({ devices: Type.Array(DeviceOut) }),
      handler: async (b) => ({ devices: (await hub.devices.ofUser(b.userId)).map(deviceOut) }),
    }),
  ];
}
