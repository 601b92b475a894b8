import { Agent, request } from 'undici';
import type { OutboxJob } from '../core/ports/outbox.js';
import type { SendResult, Sender } from '../core/ports/sender.js';
import type { RobotService } from '../core/services/robots.js';

/** Bytes of a robot's reply kept for the delivery log (the rest is not read). */
export const MAX_ROBOT_RESPONSE = 4096;

/**
 * Delivers robot callback jobs (outbox channel `robot`): POSTs the job's body — Wildfire's robot
 * callback, the message as `{messageId, sender, conv, payload, toUsers, timestamp[, client]}` — as
 * JSON to the robot's callback URL as it is at delivery time, as Wildfire does (no query string, no
 * signature), plus Switchboard's `X-Switchboard-Delivery-Id` (stable across attempts) and
 * `X-Switchboard-Attempt`. Any 2xx is a delivery; anything else, a network error or the timeout is
 * retried by the channel's policy. A job whose robot no longer exists or has no callback any more is
 * dead-lettered (redeliverable once it has one again).
 */
export class RobotSender implements Sender {
  private readonly agent: Agent;

  /** `timeoutMs` bounds one whole attempt (connect, request, reply); keep it below the channel's lease. */
  constructor(
    private readonly robots: Pick<RobotService, 'callbackOf'>,
    private readonly timeoutMs: number,
  ) {
    this.agent = new Agent({ connect: { timeout: timeoutMs }, keepAliveTimeout: 10_000, headersTimeout: 0, bodyTimeout: 0 });
  }

  async deliver(job: OutboxJob): Promise<SendResult> {
    const url = await this.robots.callbackOf(job.target);
    if (!url) return { ok: false, response: '', error: `robot ${job.target} does not exist or has no callback`, retryable: false };
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-switchboard-delivery-id': String(job.id),
          'x-switchboard-attempt': String(job.attempts),
        },
        body: job.body,
        dispatcher: this.agent,
        signal,
      });
      let text = '';
      let bytes = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        const room = MAX_ROBOT_RESPONSE - bytes;
        text += chunk.subarray(0, Math.max(0, room)).toString('utf8');
        bytes += chunk.length;
        if (bytes >= MAX_ROBOT_RESPONSE) {
          res.body.destroy();
          break;
        }
      }
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return { ok, response: `${res.statusCode} ${text}`, ...(ok ? {} : { error: `HTTP ${res.statusCode}` }) };
    } catch (err) {
      const e = err as Error;
      return { ok: false, response: '', error: signal.aborted ? `timeout after ${this.timeoutMs} ms` : e.message };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
