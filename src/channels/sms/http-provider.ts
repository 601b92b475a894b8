import { Agent, request } from 'undici';
import type { SmsAttempt, SmsMessage, SmsProvider, SmsResult } from '../../core/ports/sms.js';
import type { SmsBodyTemplate } from './template.js';

export interface HttpSmsOptions {
  /** The gateway's endpoint (http or https); every message is one POST to it. */
  url: string;
  /** Authentication header sent with every request, e.g. `Authorization: Bearer …` (name and value). */
  authHeader?: { name: string; value: string } | undefined;
  /** The JSON body, with placeholders. */
  template: SmsBodyTemplate;
  /** Connect timeout (ms); each attempt has its own deadline too. */
  connectTimeoutMs: number;
}

/** Bytes of the gateway's reply kept at most (for the delivery log). */
export const MAX_SMS_RESPONSE = 4096;

/**
 * The configurable HTTP SMS provider: one message = one POST of the rendered template
 * (`content-type: application/json`, the auth header, `X-Switchboard-Delivery-Id` stable across
 * attempts, `X-Switchboard-Attempt`). Verdict by status: 2xx accepted; 408, 425, 429 and 5xx, network
 * errors and timeouts retryable; any other status (400 bad number, 401/403 bad key, 404, 3xx — no
 * redirect is followed) a permanent refusal. A gateway that answers 200 with an error in its body
 * needs a provider of its own (docs/notifications-delivery.md, "Adding an SMS provider").
 */
export class HttpSmsProvider implements SmsProvider {
  readonly name = 'http';
  private readonly agent: Agent;

  constructor(private readonly opts: HttpSmsOptions) {
    this.agent = new Agent({ connect: { timeout: opts.connectTimeoutMs } });
  }

  async send(message: SmsMessage, attempt: SmsAttempt): Promise<SmsResult> {
    const body = this.opts.template.render({
      to: message.to,
      text: message.text,
      title: message.title,
      notification_id: message.notificationId,
      user_id: message.userId,
      delivery_id: String(attempt.deliveryId),
      attempt: String(attempt.attempt),
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-switchboard-delivery-id': String(attempt.deliveryId),
      'x-switchboard-attempt': String(attempt.attempt),
    };
    if (this.opts.authHeader) headers[this.opts.authHeader.name.toLowerCase()] = this.opts.authHeader.value;
    const signal = AbortSignal.timeout(attempt.timeoutMs);
    try {
      const res = await request(this.opts.url, { method: 'POST', headers, body, signal, dispatcher: this.agent, headersTimeout: 0, bodyTimeout: 0 });
      const text = await readCapped(res.body, MAX_SMS_RESPONSE);
      const response = `${res.statusCode} ${text}`.trim();
      const s = res.statusCode;
      if (s >= 200 && s < 300) return { ok: true, response };
      const retryable = s === 408 || s === 425 || s === 429 || s >= 500;
      return { ok: false, response, error: `HTTP ${s}`, ...(retryable ? {} : { retryable: false }) };
    } catch (err) {
      const e = err as Error;
      const timedOut = signal.aborted || e.name === 'TimeoutError' || e.name === 'AbortError';
      return { ok: false, response: '', error: timedOut ? `timeout after ${attempt.timeoutMs} ms` : e.message || String(err) };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** At most `cap` bytes of a reply body as text; the rest is not read (the connection is dropped). */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }, cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    const room = cap - bytes;
    chunks.push(chunk.length <= room ? chunk : chunk.subarray(0, room));
    bytes += Math.min(chunk.length, room);
    if (bytes >= cap) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks, bytes).toString('utf8');
}
