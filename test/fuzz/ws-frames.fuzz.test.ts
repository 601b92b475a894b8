import { afterAll, beforeAll, describe, it } from 'vitest';
import { testTimeoutMs } from './config.js';
import { FX } from './fixtures.js';
import { runProperty } from './run-property.js';
import { FuzzServer } from './target.js';
import { abuse, abuseArb, frameCaseArb, ISSUE8_FRAMES, type Abuse, type FrameCase } from './ws-arbitraries.js';
import { abuseCase, describeFrameCase, frameCase, FuzzDevice } from './ws-cases.js';

/**
 * Fuzzing the device protocol (docs/client-protocol.md) of a real server process: every frame type
 * (send, ack, read, sync, ping, unknown), valid and mutated, garbage and binary frames, on a device of
 * the fixture group; and RFC 6455 violations over a raw socket on accepted connections. Invariants:
 * invariants.ts, plus a reply to every frame that asks for one within 5 s, no internal error, and no
 * close but 1009 for a frame over the size limit.
 */
describe('fuzz: WebSocket frames', () => {
  // `ack` and `read` without `id` get no reply when they succeed: the marks they move are left out of
  // the snapshot, so that such a write landing late is not blamed on the next, refused, frame.
  const server = new FuzzServer({ snapshot: { volatileKeys: ['readTimestamp', 'unread'], skipDelivery: true } });
  const device = new FuzzDevice(server);
  const file = import.meta.url;

  beforeAll(async () => {
    await server.ready();
  }, 60_000);
  afterAll(async () => {
    device.close();
    await server.dispose();
  });

  it(
    'ws frames: send, ack, read, sync, ping and unknown types, valid and mutated',
    async () => {
      // A restart after an earlier failure is not charged to this property's time budget.
      await server.ready();
      await runProperty<FrameCase>({
        name: 'ws frames: send, ack, read, sync, ping and unknown types, valid and mutated',
        file,
        arb: frameCaseArb(),
        runs: [80, 4000],
        budgetMs: [10_000, 900_000],
        finish: () => server.finalCheck(),
        describe: describeFrameCase,
        check: (c) => frameCase(server, device, c),
      });
    },
    testTimeoutMs(10_000, 900_000),
  );

  it(
    'ws frames: protocol abuse on accepted connections',
    async () => {
      // A restart after an earlier failure is not charged to this property's time budget.
      await server.ready();
      await runProperty<Abuse>({
        name: 'ws frames: protocol abuse on accepted connections',
        file,
        arb: abuseArb,
        runs: [25, 1500],
        budgetMs: [5_000, 300_000],
        finish: () => server.finalCheck(),
        describe: (a) => a.name,
        check: async (a) => {
          await server.ready();
          const token = await server.token(FX.member2, 'fz-raw');
          await abuseCase(server, `/ws?token=${encodeURIComponent(token)}`, a, undefined);
        },
      });
    },
    testTimeoutMs(5_000, 300_000),
  );

  it('issue 8 #1 (control): accepted connections survive each frame kind of the report, closing 1002/1007/1009', async () => {
    for (const name of ISSUE8_FRAMES) {
      await server.ready();
      const token = await server.token(FX.member2, 'fz-raw');
      await abuseCase(server, `/ws?token=${encodeURIComponent(token)}`, abuse(name), undefined);
    }
  }, 120_000);
});
