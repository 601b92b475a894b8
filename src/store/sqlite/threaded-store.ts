import type { Worker } from 'node:worker_threads';
import { CoreError } from '../../core/errors.js';
import type { Handover, OutboxJob } from '../../core/ports/outbox.js';
import type { MessageDraft, Store } from '../../core/ports/store.js';
import { packDraft } from './channel-record.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import { startWorker } from './worker-entry.js';
import { deserializeError, restoreEchoedPayload, unpackChannelRow, type FromWorker, type StorePart, type ToWorker } from './thread-protocol.js';

type WorkerOptions = Omit<SqliteStoreOptions, 'onCommit' | 'onError'>;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** The call's arguments, kept while a result may echo them (appendMessage: see withoutEchoedPayload). */
  args?: unknown[];
}

/**
 * The SQLite store with its connection in a writer thread. Same contract as SqliteStore (it runs it);
 * the main thread only sends calls and receives results, batched per event-loop turn, so HTTP parsing
 * and SQLite commits (with their fsync) proceed in parallel on two cores.
 *
 * If the thread dies, every pending and later call fails with server_error, ping() answers false
 * (GET /ready turns 503) and the death is reported once through onError. Nothing the thread sends can
 * throw out of a worker event: the hooks and the outbox watcher run inside a catch.
 */
export class ThreadedSqliteStore implements Store {
  readonly users: Store['users'];
  readonly tokens: Store['tokens'];
  readonly groups: Store['groups'];
  readonly channels: Store['channels'];
  readonly chatrooms: Store['chatrooms'];
  readonly messages: Store['messages'];
  readonly conversations: Store['conversations'];
  readonly sync: Store['sync'];
  readonly outbox: Store['outbox'];
  readonly settings: Store['settings'];
  readonly robots: Store['robots'];
  readonly devices: Store['devices'];
  readonly relations: Store['relations'];
  readonly sensitiveWords: Store['sensitiveWords'];
  readonly userSettings: Store['userSettings'];
  readonly notifications: Store['notifications'];
  readonly notifyDelivery: Store['notifyDelivery'];
  readonly channelApps: Store['channelApps'];
  readonly serviceSessions: Store['serviceSessions'];

  private readonly pending = new Map<number, Pending>();
  private queued: Array<{ id: number; part: StorePart; method: string; args: unknown[] }> = [];
  private scheduled = false;
  private nextId = 1;
  private alive = true;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly hooks: Pick<SqliteStoreOptions, 'onCommit' | 'onError'>,
  ) {
    this.users = this.remote('users');
    this.tokens = this.remote('tokens');
    this.groups = this.remote('groups');
    this.channels = this.remote('channels');
    this.chatrooms = this.remote('chatrooms');
    this.messages = this.remote('messages');
    this.conversations = this.remote('conversations');
    this.sync = this.remote('sync');
    this.outbox = this.remote('outbox');
    this.settings = this.remote('settings');
    this.robots = this.remote('robots');
    this.devices = this.remote('devices');
    this.relations = this.remote('relations');
    this.sensitiveWords = this.remote('sensitiveWords');
    this.userSettings = this.remote('userSettings');
    this.notifications = this.remote('notifications');
    this.notifyDelivery = this.remote('notifyDelivery');
    this.channelApps = this.remote('channelApps');
    this.serviceSessions = this.remote('serviceSessions');
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => {
      this.report(err);
      this.fail();
    });
    worker.on('exit', (code) => {
      if (this.alive && !this.closing) this.report(new Error(`store thread exited (code ${code}): every store call fails from now on`));
      this.fail();
    });
  }

  /** onError, which must not throw out of a worker event either. */
  private report(err: unknown): void {
    try {
      this.hooks.onError?.(err);
    } catch {
      // Nowhere left to report to.
    }
  }

  /** Start the writer thread; resolves once the database is open and migrated. */
  static open(opts: SqliteStoreOptions): Promise<ThreadedSqliteStore> {
    const { onCommit, onError, ...data } = opts;
    const worker = startWorker('thread-worker', data satisfies WorkerOptions);
    return new Promise((resolve, reject) => {
      const onEarly = (m: FromWorker): void => {
        if (m.type === 'ready') {
          worker.off('message', onEarly);
          worker.off('exit', onExit);
          resolve(new ThreadedSqliteStore(worker, { ...(onCommit ? { onCommit } : {}), ...(onError ? { onError } : {}) }));
        } else if (m.type === 'init-error') {
          reject(new Error(m.message));
        }
      };
      const onExit = (code: number): void => reject(new Error(`store thread exited with code ${code} before it was ready`));
      worker.on('message', onEarly);
      worker.on('exit', onExit);
      worker.once('error', reject);
    });
  }

  private remote<P extends StorePart>(part: P): Store[P] {
    return new Proxy({} as Store[P], {
      get: (_t, method) => {
        // Not thenable, not a prototype: only named methods become calls.
        if (typeof method !== 'string' || method === 'then' || method === 'constructor') return undefined;
        // A listener cannot cross the thread boundary: the worker watches, and its claimed jobs come
        // back with results (onMessage) to the watcher registered here.
        if (part === 'outbox' && method === 'watch') return (listener: (jobs: OutboxJob[], how: Handover) => void) => this.watchOutbox(listener);
        // A settle's `next` leases jobs for the watcher: with none registered here, it leases nothing (the port).
        if (part === 'outbox' && method === 'settle') return (...args: unknown[]) => this.call(part, method, this.outboxWatcher ? args : args.slice(0, 1));
        return (...args: unknown[]) => this.call(part, method, args);
      },
    });
  }

  private outboxWatcher: ((jobs: OutboxJob[], how: Handover) => void) | null = null;

  private watchOutbox(listener: (jobs: OutboxJob[], how: Handover) => void): () => void {
    this.outboxWatcher = listener;
    return () => {
      if (this.outboxWatcher === listener) this.outboxWatcher = null;
    };
  }

  private call(part: StorePart, method: string, args: unknown[]): Promise<unknown> {
    if (!this.alive || this.closing) return Promise.reject(new CoreError('server_error', 'store is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const append = part === 'messages' && method === 'appendMessage';
      this.pending.set(id, append ? { resolve, reject, args } : { resolve, reject });
      this.queued.push({ id, part, method, args: append ? [packDraft(args[0] as MessageDraft)] : args });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.queued.length === 0 || !this.alive) return;
    const calls = this.queued;
    this.queued = [];
    try {
      this.worker.postMessage({ type: 'calls', calls } satisfies ToWorker);
    } catch {
      // Some argument cannot be cloned (a bug in the caller): fail those calls alone.
      for (const c of calls) {
        try {
          this.worker.postMessage({ type: 'calls', calls: [c] } satisfies ToWorker);
        } catch (err) {
          this.hooks.onError?.(err);
          this.pending.get(c.id)?.reject(new CoreError('server_error', `store call ${c.part}.${c.method} is not serialisable`));
          this.pending.delete(c.id);
        }
      }
    }
  }

  private onMessage(m: FromWorker): void {
    if (m.type !== 'results') return;
    try {
      for (const c of m.commits) this.hooks.onCommit?.(c.size, c.ms);
    } catch (err) {
      this.report(err);
    }
    // Nobody watches any more (stopping): the jobs stay leased and are claimed again after the lease.
    for (const [jobs, how] of [
      [m.claimed, 'grant'],
      [m.claimedNext, 'next'],
    ] as const) {
      if (!jobs || jobs.length === 0 || !this.outboxWatcher) continue;
      try {
        this.outboxWatcher(jobs, how);
      } catch (err) {
        this.report(err);
      }
    }
    for (const e of m.errors) this.report(new Error(e));
    for (const r of m.results) {
      const p = this.pending.get(r.id);
      if (!p) continue;
      this.pending.delete(r.id);
      if (!r.ok) p.reject(deserializeError(r.error));
      else if (r.wire === 'channelRow') p.resolve(unpackChannelRow(r.value));
      else p.resolve(r.echo === 'payload' && p.args ? restoreEchoedPayload(p.args, r.value) : r.value);
    }
  }

  private fail(): void {
    if (!this.alive) return;
    this.alive = false;
    for (const p of this.pending.values()) p.reject(new CoreError('server_error', 'store thread stopped'));
    this.pending.clear();
    this.queued = [];
  }

  async ping(): Promise<boolean> {
    if (!this.alive || this.closing) return false;
    const id = this.nextId++;
    return new Promise<boolean>((resolve) => {
      this.pending.set(id, { resolve: (v) => resolve(v === true), reject: () => resolve(false) });
      this.worker.postMessage({ type: 'ping', id } satisfies ToWorker);
    });
  }

  /** Send what is queued, let the thread commit and close the database, then stop it. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.alive) return;
      this.flush();
      const closed = new Promise<void>((resolve) => {
        const onMsg = (m: FromWorker): void => {
          if (m.type === 'closed') {
            this.worker.off('message', onMsg);
            resolve();
          }
        };
        this.worker.on('message', onMsg);
        this.worker.once('exit', () => resolve());
      });
      this.worker.postMessage({ type: 'close' } satisfies ToWorker);
      await closed;
      this.fail();
      await this.worker.terminate();
    })();
    return this.closing;
  }
}
