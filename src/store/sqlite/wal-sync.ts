import fs from 'node:fs';
import path from 'node:path';

/**
 * Pipelined durability for a WAL database whose connection commits with synchronous=NORMAL (frames
 * written, not fsynced): after each COMMIT the writer hands a callback here; it runs once an fsync of
 * the -wal file that started after that COMMIT has completed. One fsync at a time runs in libuv's
 * thread pool and covers every commit made before it started, so the writer keeps executing the next
 * batch while the disk syncs the previous ones.
 *
 * Equivalence with SQLite's own synchronous=FULL for acknowledged writes: SQLite keeps the database
 * consistent with NORMAL (checksummed, salted WAL frames; the WAL is synced before every checkpoint);
 * the only difference is when frames become durable, and no caller is told a write succeeded before
 * they are. A failed fsync fails the writes it covered (their durability is unknown).
 */
export class WalSyncer {
  private fd: number | null = null;
  private inFlight = false;
  private next: Array<(err?: Error) => void> = [];
  private idle: Array<() => void> = [];
  private dirSynced = false;

  /** Called whenever an fsync completes (the writer may have held a batch back for it). */
  onSynced: () => void = () => {};

  constructor(private readonly walFile: string) {}

  /** True while an fsync is running. */
  get busy(): boolean {
    return this.inFlight;
  }

  /** Call right after a COMMIT. `done` runs when that commit is durable (or with the fsync error). */
  afterCommit(done: (err?: Error) => void): void {
    this.next.push(done);
    if (!this.inFlight) this.start();
  }

  /** Resolves when no commit is waiting for durability. */
  drain(): Promise<void> {
    if (!this.inFlight && this.next.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private start(): void {
    const waiting = this.next;
    this.next = [];
    this.inFlight = true;
    let fd: number;
    try {
      fd = this.openWal();
    } catch (err) {
      this.finish(waiting, err as Error);
      return;
    }
    fs.fsync(fd, (err) => this.finish(waiting, err ?? undefined));
  }

  private finish(waiting: Array<(err?: Error) => void>, err: Error | undefined): void {
    this.inFlight = false;
    for (const d of waiting) d(err);
    if (this.next.length > 0) {
      this.start();
    } else {
      for (const r of this.idle.splice(0)) r();
    }
    this.onSynced();
  }

  /** The -wal file's descriptor, reopened if SQLite replaced the file. */
  private openWal(): number {
    if (this.fd !== null && fs.fstatSync(this.fd).nlink === 0) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    if (this.fd === null) {
      this.fd = fs.openSync(this.walFile, 'r');
      if (!this.dirSynced) {
        // The directory entry of a new -wal file must be durable too.
        const dir = fs.openSync(path.dirname(this.walFile), 'r');
        try {
          fs.fsyncSync(dir);
        } finally {
          fs.closeSync(dir);
        }
        this.dirSynced = true;
      }
    }
    return this.fd;
  }
}
