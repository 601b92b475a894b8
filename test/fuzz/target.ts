import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killChildren, startChild, type ChildServer } from '../helpers/child-server.js';
import { KeepAliveAdmin } from '../helpers/keepalive-admin.js';
import { getToken } from '../helpers/ws-client.js';
import { Canary } from './canary.js';
import { FUZZ } from './config.js';
import { createFixtures, FIXTURE_USERS, FX } from './fixtures.js';
import { FixtureRef } from './json-text.js';
import { AMPLIFICATION_BOUND, conversationGrowth, diffSnapshots, takeSnapshot, type Snapshot, type SnapshotOptions } from './snapshot.js';

export const FUZZ_SECRET = 'fuzz-secret-0123456789';

export interface FuzzServerOptions {
  /** Extra environment of the server process (config variables). */
  env?: Record<string, string>;
  snapshot?: SnapshotOptions;
  /** A canary check every this many cases (default 5). */
  canaryEvery?: number;
}

/**
 * The server under fuzz: `node dist/cli.js serve` as a child process on port 0, in a fresh data
 * directory, with the fixtures and the canary devices. When the process dies, or a failed case may
 * have left it busy (a reply past the deadline), the next case starts a fresh one, so that one
 * failure does not mask the rest of the suite and shrinking can go on.
 */
export class FuzzServer {
  private child: ChildServer | undefined;
  private dataDir: string | undefined;
  private canary: Canary | undefined;
  private tainted: string | undefined;
  private last: Snapshot | undefined;
  private cases = 0;
  /** An input was accepted since the last repair: the fixtures may have moved. */
  private moved = false;
  admin!: KeepAliveAdmin;
  uids: number[] = [];
  /** Servers started so far (restarts included). */
  starts = 0;
  /** Cases by outcome, over the whole file (printed with FUZZ_VERBOSE=1 or FUZZ_LONG=1). */
  readonly stats = { accepted: 0, refused: 0 };

  constructor(private readonly opts: FuzzServerOptions = {}) {}

  get url(): string {
    if (!this.child) throw new Error('the fuzz server is not running');
    return this.child.url;
  }

  /** The process is running. */
  get alive(): boolean {
    const p = this.child?.proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Exit code or signal and the tail of the process output, for a failure report. */
  exitReport(): string {
    const p = this.child?.proc;
    const out = this.child?.output() ?? '';
    return `server process exited (code ${String(p?.exitCode)}, signal ${String(p?.signalCode)}); last output:\n${out.slice(-3000)}`;
  }

  /** Send `signal` to the server process; resolves with how it exited (the next `ready()` starts a new one). */
  async signal(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.child) throw new Error('the fuzz server is not running');
    const child = this.child;
    child.proc.kill(signal);
    return child.exited;
  }

  /** The server's output so far (for a failure report). */
  output(): string {
    return this.child?.output() ?? '';
  }

  /** Make the next `ready()` start a fresh server. */
  taint(why: string): void {
    this.tainted ??= why;
  }

  /** A running server with fixtures and canaries; restarts after a crash or a taint. */
  async ready(): Promise<void> {
    if (this.child && this.alive && !this.tainted) return;
    await this.stop();
    this.tainted = undefined;
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-fuzz-'));
    this.child = await startChild(['--port', '0', '--host', '127.0.0.1', '--data', this.dataDir, '--synchronous', 'NORMAL'], {
      SWITCHBOARD_ADMIN_SECRET: FUZZ_SECRET,
      // The fuzzed device sends one frame per case, snapshots in between: the rate limit is not under test here.
      SWITCHBOARD_WS_RATE_LIMIT: '100000',
      SWITCHBOARD_WS_RATE_BURST: '100000',
      ...(this.opts.env ?? {}),
    });
    this.starts++;
    this.admin = new KeepAliveAdmin(this.child.url, FUZZ_SECRET);
    this.uids = (await createFixtures(this.admin)).uids;
    this.canary = await Canary.connect(this.child.url, this.admin);
    this.last = undefined;
    this.cases = 0;
    this.moved = false;
  }

  async stop(): Promise<void> {
    this.canary?.close();
    this.canary = undefined;
    this.admin?.destroy();
    const child = this.child;
    this.child = undefined;
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
    this.dataDir = undefined;
  }

  /** Stop the server and any child process left behind (afterAll). */
  async dispose(): Promise<void> {
    if (FUZZ.long || process.env['FUZZ_VERBOSE'] === '1') {
      console.log(`fuzz server: ${this.stats.accepted} inputs accepted, ${this.stats.refused} refused, ${this.starts} server start(s)`);
    }
    await this.stop();
    killChildren();
  }

  /** The snapshot as of the end of the previous case (taken now if there is none). */
  async before(): Promise<Snapshot> {
    this.last ??= await takeSnapshot(this.admin, this.uids, this.opts.snapshot);
    return this.last;
  }

  /**
   * After an accepted input: a fresh snapshot, remembered as the next case's `before`. Fails when the
   * input grew a fixture user's conversation list by more than AMPLIFICATION_BOUND entries.
   */
  async after(what = 'an accepted input'): Promise<Snapshot> {
    this.moved = true;
    const before = this.last;
    this.last = await takeSnapshot(this.admin, this.uids, this.opts.snapshot);
    if (before) {
      const grown = conversationGrowth(before, this.last).filter((g) => g.added > AMPLIFICATION_BOUND);
      if (grown.length > 0) {
        throw new Error(`${what} added ${grown.map((g) => `${g.added} conversations to ${g.user}`).join(', ')} (bound: ${AMPLIFICATION_BOUND} per input)`);
      }
    }
    return this.last;
  }

  /** After a refused input: fails when it changed what the snapshot reads. */
  async assertUnchanged(before: Snapshot, what: string): Promise<void> {
    this.last = await takeSnapshot(this.admin, this.uids, this.opts.snapshot);
    const diff = diffSnapshots(before, this.last);
    if (diff.length > 0) throw new Error(`${what} was refused but changed stored data:\n    ${diff.slice(0, 6).join('\n    ')}`);
  }

  /** After a property: the canary devices are still served. */
  async finalCheck(): Promise<void> {
    if (!this.alive) throw new Error(this.exitReport());
    await this.canaryCheck(true);
  }

  /** Every `canaryEvery` cases (and when `force`), the canary devices must receive a live message. */
  async canaryCheck(force = false): Promise<void> {
    this.cases++;
    if (!force && this.cases % (this.opts.canaryEvery ?? 5) !== 0) return;
    if (!this.canary) throw new Error('no canary devices');
    await this.canary.check(this.admin);
  }

  /**
   * Put the fixtures back where accepted inputs moved them far enough to make later inputs shallow
   * (a fixture user destroyed or blocked, the group gone, its owner changed, a member removed, muted,
   * the channel destroyed). Changes nothing when they are in place.
   */
  async repair(): Promise<void> {
    if (!this.moved) return;
    this.moved = false;
    try {
      if (await this.putBack()) this.last = undefined;
    } catch {
      // A state the repair does not know how to undo (e.g. a member limit below the members): start afresh.
      this.taint('the fixtures could not be put back');
      await this.ready();
    }
  }

  /** True when something had to be put back. */
  private async putBack(): Promise<boolean> {
    const a = this.admin;
    let changed = false;
    for (const u of [...FIXTURE_USERS, FX.canarySender, FX.canaryReceiver]) {
      const r = await a.post<{ status: number }>('/user/check_block_status', { userId: u });
      if (r.body.code === 253) {
        await a.ok('/user/create', { userId: u, name: `name-${u}`, displayName: u, email: `${u}@fuzz.test` });
        changed = true;
      } else if (r.body.result && r.body.result.status !== 0) {
        await a.ok('/user/update_block_status', { userId: u, status: 0 });
        changed = true;
      }
    }
    const g = await a.post<{ owner: string; mute: number }>('/group/get_info', { groupId: FX.group });
    if (g.body.code === 253) {
      await a.ok('/group/create', {
        operator: FX.owner,
        group: { group_info: { target_id: FX.group, name: FX.group, owner: FX.owner, type: 2 }, members: [{ member_id: FX.member1 }, { member_id: FX.member2 }] },
      });
      changed = true;
    } else if (g.body.result) {
      if (g.body.result.owner !== FX.owner) {
        await a.ok('/group/member/add', { operator: g.body.result.owner, group_id: FX.group, members: [{ member_id: FX.owner }] });
        await a.ok('/group/transfer', { operator: g.body.result.owner, group_id: FX.group, new_owner: FX.owner });
        changed = true;
      }
      if (g.body.result.mute !== 0) {
        await a.ok('/group/modify', { operator: FX.owner, group_id: FX.group, type: 3, value: '0' });
        changed = true;
      }
      const members = await a.ok<{ members: Array<{ member_id: string }> }>('/group/member/list', { groupId: FX.group });
      const missing = [FX.member1, FX.member2].filter((m) => !members.members.some((x) => x.member_id === m));
      if (missing.length > 0) {
        await a.ok('/group/member/add', { operator: FX.owner, group_id: FX.group, members: missing.map((m) => ({ member_id: m })) });
        changed = true;
      }
    }
    const c = await a.post('/channel/get', { channelId: FX.channel });
    if (c.body.code === 253) {
      await a.ok('/channel/create', { owner: FX.owner, name: FX.channel, targetId: FX.channel });
      await a.ok('/channel/subscribe', { channelId: FX.channel, userId: FX.member1, subscribe: 1 });
      changed = true;
    }
    return changed;
  }

  /** The value of a fixture reference (a message uid). */
  resolve = (ref: FixtureRef): unknown => this.uids[ref.index % Math.max(1, this.uids.length)] ?? 1;

  token(userId: string, clientId: string, platform = 1): Promise<string> {
    return getToken(this.admin, userId, clientId, platform);
  }
}
