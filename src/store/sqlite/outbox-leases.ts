import type { OutboxJob } from '../../core/ports/outbox.js';
import type { SqliteContext } from './context.js';
import { toJob, type JobRow } from '../rows/outbox.js';

/**
 * A lease held in the writer's memory (SqliteOutbox, *Leases*): the job's row stays pending in the
 * file; `attempts` counts the attempt it was leased for.
 */
export interface MemLease {
  until: number;
  attempts: number;
}

/**
 * The jobs leased in the writer thread's memory, by id (SqliteOutbox, *Leases*): such a job's row stays
 * pending in the file. Only the writer thread holds one; every change made inside a writer command is
 * recorded in its undo log, so the map follows what the file committed.
 */
export class MemoryLeases {
  private readonly byId = new Map<number, MemLease>();

  constructor(private readonly ctx: SqliteContext) {}

  get(id: number): MemLease | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  get size(): number {
    return this.byId.size;
  }

  ids(): IterableIterator<number> {
    return this.byId.keys();
  }

  /** Set or drop a job's lease inside a writer command, undone with it. */
  set(id: number, lease: MemLease | undefined): void {
    const prev = this.byId.get(id);
    if (lease) this.byId.set(id, lease);
    else this.byId.delete(id);
    this.ctx.undo.record(() => {
      if (prev) this.byId.set(id, prev);
      else this.byId.delete(id);
    });
  }

  /** A row as readers see it: a job leased here is in flight until its lease's end, with its lease's attempts. */
  shown(r: JobRow): OutboxJob {
    const l = r.status === 0 ? this.byId.get(r.id) : undefined;
    return toJob(l ? { ...r, status: 1, next_at: l.until, attempts: l.attempts } : r);
  }
}
