import type { Payload } from '../core/model.js';
import { PersistFlag } from '../core/model.js';
import { NO_EFFECTS, type EffectsPlanner, type SendFacts } from '../core/ports/effects.js';
import type { EffectSpec } from '../core/ports/outbox.js';
import { ROBOT_CHANNEL, ROBOT_MESSAGE, type RobotService } from '../core/services/robots.js';

export interface RobotPlannerOptions {
  /** Wildfire's robot.callback_with_client_info: add `client: {platform, clientId}` for device sends. */
  withClientInfo: boolean;
}

/** Wildfire's MessagePayload as its robot callback carries it (every field, as stored). */
function payloadOf(p: Payload): Record<string, unknown> {
  return {
    type: p.type,
    searchableContent: p.searchableContent,
    pushContent: p.pushContent,
    pushData: p.pushData,
    content: p.content,
    base64edData: p.base64edData,
    mediaType: p.mediaType,
    remoteMediaUrl: p.remoteMediaUrl,
    persistFlag: p.persistFlag,
    expireDuration: p.expireDuration,
    mentionedType: p.mentionedType,
    mentionedTarget: p.mentionedTarget,
    extra: p.extra,
  };
}

/**
 * The robots' side of sends: a message that reaches robots with a callback (the other party of a
 * single chat, robot members of a group; from a device or the admin API) gets one outbox job per
 * robot on channel `robot`, committed with the message. The body is Wildfire's robot callback
 * (OutputMessageData): `{messageId, sender, conv, payload, toUsers, timestamp}`, the uid and time filled
 * in by the store as the message is written. Jobs of one robot are delivered in order (order key per
 * robot). Transparent messages (persistFlag 4), group notifications, multicasts, broadcasts, channel
 * and chatroom messages post nothing.
 */
export class RobotPlanner implements EffectsPlanner {
  beforeSend = NO_EFFECTS.beforeSend;
  afterRecall = NO_EFFECTS.afterRecall;
  afterRead = NO_EFFECTS.afterRead;
  membership = NO_EFFECTS.membership;
  state = NO_EFFECTS.state;

  constructor(
    private readonly robots: Pick<RobotService, 'receivers'>,
    private readonly opts: RobotPlannerOptions,
  ) {}

  async afterSend(f: SendFacts): Promise<EffectSpec[]> {
    if (f.payload.persistFlag === PersistFlag.transparent) return [];
    const to = await this.robots.receivers(f.sender, f.conv, f.toUsers);
    if (to.length === 0) return [];
    const client = this.opts.withClientInfo && f.origin.kind === 'device' ? { client: { platform: f.origin.platform, clientId: f.origin.clientId } } : {};
    const body = {
      messageId: 0,
      sender: f.sender,
      conv: { type: f.conv.type, target: f.conv.target, line: f.conv.line },
      payload: payloadOf(f.payload),
      toUsers: f.toUsers,
      timestamp: 0,
      ...client,
    };
    return to.map((robot) => ({
      channel: ROBOT_CHANNEL,
      target: robot,
      orderKey: `robot:${robot}`,
      kind: ROBOT_MESSAGE,
      body,
      meta: {},
      fill: { messageIdentity: { uid: 'messageId', timestamp: 'timestamp' } },
    }));
  }
}
