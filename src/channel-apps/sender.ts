import { isTimeout } from '../callbacks/deadline.js';
import { postJson } from '../callbacks/http.js';
import type { OutboxJob } from '../core/ports/outbox.js';
import type { SendResult, Sender } from '../core/ports/sender.js';
import { accepted, request000, request002, type AttemptInfo } from './outbound.js';

import { CHANNEL_APP_CHANNEL } from '../core/services/channel-deliveries.js';

/** Outbox channel of replies to channel apps. */
export const CHANNEL_APP = CHANNEL_APP_CHANNEL;

/** Job kinds of the channel: one per protocol (the body stored with the job is in that protocol's shape). */
export const KIND_000 = 'ChannelApp.Message000';
export const KIND_002 = 'ChannelApp.Message002';

/** Where and how an app is reached, read when a job is attempted (so a changed URL or secret applies to retries). */
export interface AppEndpoint {
  protocol: '000' | '002';
  /** 002: the app's path_prefix (absolute URL); 000: its version's messageWebhookUrl. */
  baseUrl: string;
  secret: string;
  /** 002: signs outbound requests (defaults to the secret). */
  outboundToken?: string | undefined;
}

/** Looks up an app's endpoint by app id; null when the app does not exist (any more). */
export interface AppEndpoints {
  endpoint(appId: string): Promise<AppEndpoint | null>;
}

/**
 * Delivers channel-app jobs (outbox channel 'channel-app'): job.target is the app id, job.body the
 * stored post in the app's protocol (job.kind), job.meta.idempotencyKey the message's stable key.
 * A non-2xx reply, an `errcode` other than 0, a network error or a timeout is a failed, retried attempt;
 * an app that no longer exists, or whose protocol no longer matches the job's, is dead-lettered at once
 * (redeliverable once fixed). Timestamp and signature are computed afresh for every attempt.
 */
export class ChannelAppSender implements Sender {
  /** `timeoutMs` bounds one attempt; keep it well below the channel's lease (policy leaseMs). */
  constructor(
    private readonly apps: AppEndpoints,
    private readonly timeoutMs: number,
    private readonly opts: {
      now?: () => number;
      /** Runs before each attempt (records the reply's channel metadata); a throw fails the attempt (retried). */
      beforeAttempt?: (job: OutboxJob) => Promise<void>;
    } = {},
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async deliver(job: OutboxJob): Promise<SendResult> {
    const protocol = job.kind === KIND_000 ? '000' : job.kind === KIND_002 ? '002' : null;
    if (!protocol) return { ok: false, response: '', error: `unknown channel-app job kind ${job.kind}`, retryable: false };
    let app: AppEndpoint | null;
    try {
      app = await this.apps.endpoint(job.target);
    } catch (err) {
      return { ok: false, response: '', error: `app lookup failed: ${(err as Error).message}` };
    }
    if (!app) return { ok: false, response: '', error: `channel app ${job.target} does not exist`, retryable: false };
    if (app.protocol !== protocol) return { ok: false, response: '', error: `channel app ${job.target} now speaks ${app.protocol}, the job is ${protocol}`, retryable: false };
    if (this.opts.beforeAttempt) {
      try {
        await this.opts.beforeAttempt(job);
      } catch (err) {
        return { ok: false, response: '', error: `recording the message failed: ${(err as Error).message}` };
      }
    }
    const info: AttemptInfo = { idempotencyKey: job.meta['idempotencyKey'] ?? `switchboard-job-${job.id}`, deliveryId: job.id, attempt: job.attempts };
    let req;
    try {
      req =
        protocol === '002'
          ? request002(app.baseUrl, job.target, app.outboundToken || app.secret, job.body, this.now(), info)
          : request000(app.baseUrl, job.target, app.secret, job.body, this.now(), info);
    } catch (err) {
      return { ok: false, response: '', error: `bad app URL: ${(err as Error).message}`, retryable: false };
    }
    try {
      const res = await postJson(req.target, req.headers, req.body, this.timeoutMs);
      const verdict = accepted(protocol, res.status, res.text);
      const response = `${res.status} ${res.text}`;
      return verdict.ok ? { ok: true, response } : { ok: false, response, error: verdict.error };
    } catch (err) {
      const e = err as Error;
      return { ok: false, response: '', error: isTimeout(e) ? `timeout after ${this.timeoutMs} ms` : e.message };
    }
  }
}

/**
 * App endpoints read from the channel gateway's records: the app's protocol, secret and token; 002's
 * path_prefix is its baseUrl, 000's webhook the published version's messageWebhookUrl (else baseUrl).
 * A disabled app (status ≠ 0) counts as absent: its jobs are dead-lettered, redeliverable once enabled.
 */
export function endpointsFrom(records: {
  app(id: string): Promise<{ protocol: '000' | '002'; baseUrl: string; secret: string; outboundToken: string; versionId: string; status: number } | null>;
  version(id: string): Promise<{ messageWebhookUrl: string } | null>;
}): AppEndpoints {
  return {
    endpoint: async (appId) => {
      const app = await records.app(appId);
      if (!app || app.status !== 0) return null;
      let baseUrl = app.baseUrl;
      if (app.protocol === '000' && app.versionId) {
        const v = await records.version(app.versionId);
        if (v?.messageWebhookUrl) baseUrl = v.messageWebhookUrl;
      }
      return { protocol: app.protocol, baseUrl, secret: app.secret, outboundToken: app.outboundToken };
    },
  };
}
