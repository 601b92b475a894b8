import { describe, expect, it } from 'vitest';
import { withTimeout, WsClient, wsUrl, type CloseInfo, type Frame } from '../helpers/ws-client.js';
import { useServer } from '../helpers/use-server.js';

/**
 * An expired token is refused over /ws with 4001, like an unknown one. The token lives for 2 s
 * (`tokens.ttlSeconds`): the test polls, connecting every 200 ms, until the server refuses the token
 * (never a fixed sleep standing in for expiry), and checks it was not refused early.
 */

const TTL_SECONDS = 2;

/** Connect once: 'accepted' once hello arrives (then closed by us), or the close code of a refusal. */
async function attempt(url: string): Promise<{ accepted: true } | { accepted: false; info: CloseInfo; frames: Frame[] }> {
  const c = new WsClient(url);
  const outcome = await withTimeout(
    Promise.race([c.waitType('hello', undefined, { timeoutMs: 10_000 }).then(() => 'hello' as const), c.closed.then(() => 'closed' as const)]),
    10_000,
    'hello or close',
  ).catch(() => 'closed' as const);
  if (outcome === 'hello') {
    await c.close();
    return { accepted: true };
  }
  return { accepted: false, info: await c.closed, frames: c.frames };
}

describe('token expiry over /ws', () => {
  const t = useServer({ tokens: { ttlSeconds: TTL_SECONDS } });

  it(`a token older than tokens.ttlSeconds (${TTL_SECONDS} s) is refused with 4001 and no frames`, { timeout: (TTL_SECONDS + 30) * 1000 }, async () => {
    const [u] = await t.users('u');
    const issuedAt = Date.now();
    const token = await t.token(u, 'c1');
    const url = wsUrl(t.url, token);
    expect((await attempt(url)).accepted).toBe(true);

    // Poll until the server refuses it; it must not be refused early, and must be refused in time.
    let refusal: { info: CloseInfo; frames: Frame[] } | undefined;
    while (!refusal) {
      const r = await attempt(url);
      if (!r.accepted) refusal = r;
      else {
        expect(Date.now() - issuedAt, 'still accepted well after its TTL').toBeLessThan((TTL_SECONDS + 10) * 1000);
        await new Promise<void>((resolve) => setTimeout(resolve, 200)); // poll interval, not a synchronisation
      }
    }
    expect(Date.now() - issuedAt).toBeGreaterThanOrEqual(TTL_SECONDS * 1000 - 50);
    expect(refusal.info.code).toBe(4001);
    expect(refusal.frames).toEqual([]);

    // A fresh token of the same client works: only the expired one is refused.
    const fresh2 = await t.token(u, 'c1');
    expect((await attempt(wsUrl(t.url, fresh2))).accepted).toBe(true);
  });
});
