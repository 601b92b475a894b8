import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CoreError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import { MAX_CHANNEL_CONTENTS, MAX_ID_LENGTH, MAX_TEXT_LENGTH, MAX_URL_LENGTH } from '../../core/limits.js';
import type { SendResultInput } from '../../core/services/channel-deliveries.js';

/**
 * Seed 000's send-result callback, `PUT /api/v3/messaging/platform/conversations/messages/{id}`
 * (docs/channel-gateway.md, "Send results"): the app reports what became of a reply it was
 * given. `{id}` is the reply's guid (the `guid` of the outbound post). Both revisions of the body:
 * - older (seed 000): `sendStatus: "success" | "failed"`, errorMessage, originalMessageId,
 *   originalMessageUrl, `content[]` of `{id, url}`;
 * - newer: `isSuccessful: bool`, errorMessage, originalMessageId, originalMessageUrl, `urls[]` of
 *   `{id, url}`, `isSync`.
 * Errors in the surface's envelope: a missing or unknown status 400, both revisions disagreeing 400,
 * an unknown id 404, a content id the message does not have 400 — nothing changed in each case.
 */
const opt = <T extends Parameters<typeof Type.Optional>[0]>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Rehosted = Type.Array(Type.Object({ id: Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }), url: Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH }) }), {
  maxItems: MAX_CHANNEL_CONTENTS,
});

export const SendResultIn = Type.Object({
  sendStatus: opt(Type.String({ maxLength: 32 })),
  isSuccessful: opt(Type.Boolean()),
  errorMessage: opt(Type.String({ maxLength: MAX_TEXT_LENGTH })),
  originalMessageId: opt(Type.String({ maxLength: MAX_TEXT_LENGTH })),
  originalMessageUrl: opt(Type.String({ maxLength: MAX_URL_LENGTH })),
  content: opt(Rehosted),
  urls: opt(Rehosted),
  isSync: opt(Type.Boolean()),
});

type Body = Static<typeof SendResultIn>;

/** The two revisions as one input; CoreError invalid_parameter when the status is missing, unknown or contradictory. */
export function normaliseSendResult(b: Body): SendResultInput {
  let fromStatus: boolean | undefined;
  if (b.sendStatus !== undefined && b.sendStatus !== null) {
    const s = b.sendStatus.toLowerCase();
    if (s !== 'success' && s !== 'failed') throw new CoreError('invalid_parameter', 'sendStatus must be "success" or "failed"');
    fromStatus = s === 'success';
  }
  const flag = b.isSuccessful ?? undefined;
  if (fromStatus === undefined && flag === undefined) throw new CoreError('invalid_parameter', 'sendStatus ("success" | "failed") or isSuccessful (bool) is required');
  if (fromStatus !== undefined && flag !== undefined && fromStatus !== flag) throw new CoreError('invalid_parameter', 'sendStatus and isSuccessful disagree');
  const urls = [...(b.content ?? []), ...(b.urls ?? [])];
  return {
    success: (fromStatus ?? flag)!,
    ...(b.errorMessage != null ? { errorMessage: b.errorMessage } : {}),
    ...(b.originalMessageId != null ? { originalMessageId: b.originalMessageId } : {}),
    ...(b.originalMessageUrl != null ? { originalMessageUrl: b.originalMessageUrl } : {}),
    ...(urls.length > 0 ? { urls } : {}),
  };
}

/** The route, added to the seed 000 surface (its key, envelope and body parsing) through extraRoutes. */
export function sendResultRoute(hub: Hub, bodyLimit: number): (app: FastifyInstance) => void {
  return (app) => {
    // A wildcard, not `:id`: the router would refuse a long id with its own 414, outside the envelope.
    app.put<{ Params: { '*': string }; Body: Body }>(
      '/conversations/messages/*',
      {
        bodyLimit,
        schema: {
          summary: "Seed 000: an app's send result for a reply (either revision of the body)",
          tags: ['channel gateway: seed 000'],
          body: SendResultIn,
        },
      },
      async (req, reply) => {
        const id = req.params['*'];
        if (id === '' || id.includes('/') || [...id].length > MAX_ID_LENGTH) {
          throw new CoreError('invalid_parameter', `the message id must be 1 to ${MAX_ID_LENGTH} characters`);
        }
        await hub.channelDeliveries.sendResult(id, normaliseSendResult(req.body));
        return reply.code(200).header('content-type', 'application/json; charset=utf-8').send({});
      },
    );
  };
}
