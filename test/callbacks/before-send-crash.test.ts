import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../helpers/admin-client.js';
import { CallbackReceiver } from '../helpers/callback-receiver.js';
import { textOf } from '../helpers/callbacks.js';
import { killChildren, startChild, type ChildServer } from '../helpers/child-server.js';
import { convEntry, single, type SendResult } from '../helpers/messages.js';
import { tempDir } from '../helpers/server.js';
import { device, eventually } from '../helpers/ws-client.js';

const SECRET = 'before-send-crash-secret';
const BEFORE = 'C2C.CallbackBeforeSendMsg';

/**
 * A message held by its before-send hook keeps its inbox rows and unread across kill -9, also when
 * the store wrote out its buffered per-user rows while the hook ran: the message's uid is reserved
 * before the hook is called (the hook announces its key), so the write-out's watermark is already
 * past it when the message is stored. The server runs as a child process (synchronous=FULL); the back
 * end never answers "slow…" messages (the server gives up after its timeout and, policy allow, stores
 * them), and answers every other one at once.
 *
 * The window is caught when the message is acknowledged before the next write-out (every 200 ms):
 * the killed database is inspected for it, and the round is repeated in the rare case the write-out
 * came first.
 */
describe('before-send across kill -9', () => {
  const dataDir = tempDir('sb-bs-crash-');
  const dbFile = path.join(dataDir, 'switchboard.db');
  let r: CallbackReceiver | undefined;
  let child: ChildServer | undefined;
  afterAll(async () => {
    killChildren();
    await r?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** The write-behind's recovery watermark, read from the running server's database. */
  function derivedUid(ro: Database.Database): number {
    return (ro.prepare(`SELECT value FROM meta WHERE key = 'derived_uid'`).get() as { value: number } | undefined)?.value ?? 0;
  }

  /** Whether the killed database holds message `uid` without b's inbox row (its rows were only buffered). */
  function onlyBuffered(uid: number): boolean {
    const dir = tempDir('sb-bs-killed-');
    try {
      // A copy, so that opening it (WAL recovery) leaves the server's files as the kill left them.
      for (const f of ['switchboard.db', 'switchboard.db-wal']) {
        if (fs.existsSync(path.join(dataDir, f))) fs.copyFileSync(path.join(dataDir, f), path.join(dir, f));
      }
      const db = new Database(path.join(dir, 'switchboard.db'));
      try {
        const m = db.prepare('SELECT seq FROM messages WHERE uid = ?').get(uid) as { seq: number } | undefined;
        expect(m, `message ${uid} is stored (it was acknowledged)`).toBeDefined();
        return db.prepare(`SELECT 1 FROM inbox WHERE user_id = 'b' AND seq = ?`).get(m!.seq) === undefined;
      } finally {
        db.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('keeps the inbox rows and unread of a message whose hook outlasted a write-out', async () => {
    r = await CallbackReceiver.start((q) => (q.command === BEFORE && textOf(q.json).startsWith('slow') ? { hang: true } : undefined));
    const receiver = r;
    const env = {
      SWITCHBOARD_ADMIN_SECRET: SECRET,
      SWITCHBOARD_CALLBACK_URL: `${receiver.url}/cb`,
      SWITCHBOARD_CALLBACK_TOKEN: 'tok',
      SWITCHBOARD_SDK_APP_ID: '1400000001',
      SWITCHBOARD_CALLBACK_COMMANDS: BEFORE,
      SWITCHBOARD_CALLBACK_TIMEOUT_MS: '1500',
      SWITCHBOARD_CALLBACK_BEFORE_SEND_POLICY: 'allow',
    };
    const args = ['--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--synchronous', 'FULL'];
    child = await startChild(args, env);
    let admin = new AdminClient(child.url, SECRET);
    for (const u of ['a', 'b']) await admin.ok('/user/create', { userId: u, name: u });
    const text = (s: string) => ({ type: 1, searchableContent: s, persistFlag: 3 });

    const acked: number[] = [];
    let caught = false;
    for (let round = 0; round < 3 && !caught; round++) {
      // The slow message's uid is reserved, then its hook hangs.
      const slow = admin.send('a', single('b'), text(`slow-${round}`));
      await receiver.waitFor((q) => q.command === BEFORE && textOf(q.json) === `slow-${round}`, { label: `the hook of slow-${round}` });
      // Another message, reserved and stored after it, and a write-out of its rows: the watermark
      // passes the slow message's uid while its hook still runs.
      const fast = await admin.send('a', single('b'), text(`fast-${round}`));
      acked.push(fast.messageUid);
      const ro = new Database(dbFile, { readonly: true });
      try {
        await eventually(async () => derivedUid(ro) >= fast.messageUid, 'a write-out past the slow message', 10_000);
      } finally {
        ro.close();
      }
      const late: SendResult = await slow;
      expect(late.messageUid).toBeLessThan(fast.messageUid);
      acked.push(late.messageUid);
      // Killed as soon as it is acknowledged, before the next write-out (200 ms later).
      child.proc.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      caught = onlyBuffered(late.messageUid);

      child = await startChild(args, env);
      admin = new AdminClient(child.url, SECRET);
      // Every acknowledged message is in b's sync and counts as unread.
      expect((await convEntry(admin, 'b', single('a')))?.unread).toBe(acked.length);
      const dev = await device(child.url, admin, 'b', `b-${round}`, { cursor: 0 });
      for (const uid of acked) await dev.waitMessage(uid);
      dev.ws.close();
    }
    expect(caught, 'a slow message was acknowledged and the process killed before its rows were written').toBe(true);

    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    child = undefined;
  }, 60_000);
});
