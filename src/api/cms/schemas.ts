import { Type } from '@sinclair/typebox';
import { MAX_ID_LENGTH, MAX_NOTIFY_BODY, MAX_NOTIFY_LABEL, MAX_NOTIFY_RECIPIENTS, MAX_NOTIFY_TITLE, MAX_NOTIFY_TRANSLATIONS } from '../../core/limits.js';

/**
 * Bodies of the operator's add and update (seed 004), every string and list bounded
 * (docs/security.md). Unknown fields are ignored, as front ends send extras. `body` is the seed's
 * name on input; `message_body` (its name on output) is accepted too.
 */
const Translation = Type.Object(
  { title: Type.String({ maxLength: MAX_NOTIFY_TITLE }), body: Type.String({ maxLength: MAX_NOTIFY_BODY }) },
  { additionalProperties: false },
);

const fields = {
  title: Type.String({ maxLength: MAX_NOTIFY_TITLE }),
  body: Type.String({ maxLength: MAX_NOTIFY_BODY }),
  message_body: Type.String({ maxLength: MAX_NOTIFY_BODY }),
  send_method: Type.String({ maxLength: 16 }),
  message_type: Type.String({ maxLength: MAX_NOTIFY_LABEL }),
  send_to: Type.Array(Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }), { maxItems: MAX_NOTIFY_RECIPIENTS }),
  use_web_when_miss: Type.Boolean(),
  lng: Type.String({ maxLength: MAX_NOTIFY_LABEL }),
  translations: Type.Record(Type.String({ minLength: 1, maxLength: MAX_NOTIFY_LABEL }), Translation, { maxProperties: MAX_NOTIFY_TRANSLATIONS }),
  /** The delivery channels' options (schedule, escalation): docs/notifications-delivery.md. */
  options: Type.Object({}, { additionalProperties: true, maxProperties: 32 }),
  /** Ours (docs/notifications-delivery.md), also accepted inside `options`; null clears. */
  schedule_at: Type.Union([Type.String({ maxLength: 64 }), Type.Integer({ minimum: 0 }), Type.Null()]),
  escalate_after_minutes: Type.Union([Type.Number(), Type.Null()]),
  escalate_method: Type.Union([Type.String({ maxLength: 16 }), Type.Null()]),
};

export const UpdateBody = Type.Partial(Type.Object(fields, { additionalProperties: true }));

export const AddBody = Type.Composite(
  [Type.Omit(UpdateBody, ['title', 'send_method', 'send_to']), Type.Object({ title: fields.title, send_method: fields.send_method, send_to: fields.send_to })],
  { additionalProperties: true },
);
