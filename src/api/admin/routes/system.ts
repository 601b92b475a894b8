import { Type } from '@sinclair/typebox';
import { CoreError } from '../../../core/errors.js';
import type { Hub } from '../../../core/hub.js';
import { adminRoute, type AdminRouteDef } from '../plugin.js';
import { Int, int32, OptText, Str } from '../schemas.js';

/**
 * The answer of /admin/customer: Wildfire's professional edition names the customer its licence was
 * issued to; Switchboard has no licence, so it names itself.
 */
export const CUSTOMER = 'switchboard';

/** Wildfire's SystemSettingPojo. */
const Setting = Type.Object({ id: Int, value: Str, desc: Str });

/** Wildfire's system/get_setting and system/put_setting (the SDK's GeneralAdmin). */
export function systemRoutes(hub: Hub): AdminRouteDef[] {
  const tags = ['system'];
  return [
    adminRoute({
      path: '/system/get_setting',
      summary: 'A system setting {id, value, desc}; 253 when it was never put',
      tags,
      body: Type.Object({ id: int32(), value: OptText, desc: OptText }, { additionalProperties: true }),
      result: Setting,
      handler: async (b) => hub.settings.systemSetting(b.id),
    }),
    adminRoute({
      path: '/system/put_setting',
      summary: 'Create or overwrite a system setting (value and desc; one of them non-empty)',
      tags,
      body: Type.Object({ id: int32(), value: OptText, desc: OptText }, { additionalProperties: true }),
      handler: async (b) => hub.settings.putSystemSetting(b.id, b.value ?? '', b.desc ?? ''),
    }),
    adminRoute({
      path: '/customer',
      summary: "The professional edition's licensed customer (GeneralAdmin.getCustomer): always the string \"switchboard\"",
      tags,
      // The SDK posts an empty body; anything else that parses is ignored.
      body: Type.Object({}, { additionalProperties: true }),
      result: Str,
      handler: () => Promise.resolve(CUSTOMER),
    }),
  ];
}

/**
 * The conference routes of the SDK's ConferenceAdmin: a conference is a media server's job, which
 * Switchboard does not include. Each answers HTTP 200 with `{code: 61, msg: "conference service not
 * available"}` (Wildfire's own code for it), so the SDK returns a result instead of throwing.
 */
export const CONFERENCE_PATHS = [
  '/conference/list',
  '/conference/exist',
  '/conference/list_participant',
  '/conference/create',
  '/conference/destroy',
  '/conference/recording',
  '/conference/rtp_forward',
  '/conference/stop_rtp_forward',
  '/conference/list_rtp_forward',
] as const;

export function conferenceRoutes(): AdminRouteDef[] {
  return CONFERENCE_PATHS.map((path) =>
    adminRoute({
      path,
      summary: 'Not supported (no media server): always code 61 "conference service not available", HTTP 200',
      tags: ['conference'],
      body: Type.Object({}, { additionalProperties: true }),
      handler: () => Promise.reject(new CoreError('conference_unavailable', 'Switchboard has no media server')),
    }),
  );
}
