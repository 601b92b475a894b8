import type { AdminClient } from '../helpers/admin-client.js';
import { getToken, wsUrl, WsClient } from '../helpers/ws-client.js';
import { REPLY_DEADLINE_MS } from './config.js';
import { FX } from './fixtures.js';

/**
 * Two devices that take no part in the fuzzing: the receiver and the sender of a single chat. A check
 * sends one message through the admin API and waits for it to arrive live on both devices (the
 * sender's devices get their own messages too). A canary device that was closed, or a message that
 * does not arrive within the deadline, fails the check: other devices must keep being served
 * whatever the fuzzed inputs do.
 */
export class Canary {
  private checks = 0;

  private constructor(
    private readonly receiver: WsClient,
    private readonly sender: WsClient,
  ) {}

  static async connect(baseUrl: string, admin: AdminClient): Promise<Canary> {
    const open = async (user: string): Promise<WsClient> => {
      const c = new WsClient(wsUrl(baseUrl, await getToken(admin, user, `${user}-canary`)));
      await c.waitType('synced', undefined, { label: `the canary ${user}'s synced frame`, timeoutMs: 10_000 });
      return c;
    };
    return new Canary(await open(FX.canaryReceiver), await open(FX.canarySender));
  }

  async check(admin: AdminClient): Promise<void> {
    for (const [name, d] of [
      ['receiver', this.receiver],
      ['sender', this.sender],
    ] as const) {
      if (d.closeInfo) throw new Error(`the canary ${name} device was closed (${d.closeInfo.code} ${d.closeInfo.reason})`);
    }
    this.checks++;
    const started = performance.now();
    const sent = await admin.post<{ messageUid: number }>('/message/send', {
      sender: FX.canarySender,
      conv: { type: 0, target: FX.canaryReceiver, line: 0 },
      payload: { type: 1, searchableContent: `canary ${this.checks}`, persistFlag: 3 },
    });
    if (sent.status !== 200 || sent.body.code !== 0 || !sent.body.result) throw new Error(`the canary message was refused: HTTP ${sent.status} ${JSON.stringify(sent.body)}`);
    const uid = sent.body.result.messageUid;
    const left = Math.max(1, REPLY_DEADLINE_MS - (performance.now() - started));
    try {
      await Promise.all([this.receiver.waitMessage(uid, { timeoutMs: left }), this.sender.waitMessage(uid, { timeoutMs: left })]);
    } catch (err) {
      throw new Error(`the canary devices did not receive message ${uid} live: ${(err as Error).message}`);
    }
  }

  close(): void {
    this.receiver.terminate();
    this.sender.terminate();
  }
}
