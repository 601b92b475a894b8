/**
 * Puts cursor events of several publishers (nodes) back in cursor order before fan-out.
 *
 * Each node publishes its own commits in commit order, but two nodes' events can cross on the way:
 * node B's event 11 may reach this node before node A's event 10. While events from more than one
 * publisher are arriving (within the last `mixedForMs`), each is held for `windowMs` from its arrival
 * and events are released in cursor order: a release hands over every held event up to the highest
 * cursor that is due, so cursors leave this stage in increasing order whenever the crossing is shorter
 * than the window. With a single publisher (one node, or one busy node) events pass straight through.
 *
 * What crosses by more than the window is not lost: the connection sends a late event with its current
 * cursor (connection.ts, push). Bounded: at most `max` events are held; past it the oldest are released.
 */
export class Reorder<T> {
  /** Held events, by cursor ascending. */
  private held: Array<{ seq: number; due: number; item: T }> = [];
  private lastPublisher: string | undefined;
  private mixedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly windowMs: number,
    private readonly release: (item: T) => void,
    private readonly max = 10_000,
    private readonly mixedForMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Events held now (tests, metrics). */
  get size(): number {
    return this.held.length;
  }

  /** Any event from `publisher` (cursor events and others): tells whether several nodes are publishing. */
  note(publisher: string, now = this.now()): void {
    if (this.windowMs > 0 && this.lastPublisher !== undefined && publisher !== this.lastPublisher) this.mixedUntil = now + this.mixedForMs;
    this.lastPublisher = publisher;
  }

  offer(seq: number, publisher: string, item: T): void {
    if (this.stopped) return;
    const now = this.now();
    this.note(publisher, now);
    if (this.held.length === 0 && now >= this.mixedUntil) {
      this.release(item);
      return;
    }
    // Insert by cursor (most arrive in order: search from the end).
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.seq > seq) i--;
    this.held.splice(i, 0, { seq, due: now + this.windowMs, item });
    if (this.held.length > this.max) this.flush(this.held.length - this.max);
    this.arm();
  }

  /** Hand over everything held, in cursor order (e.g. before a resync, or at stop). */
  drain(): void {
    this.flush(this.held.length);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.held = [];
  }

  private tick(): void {
    this.timer = undefined;
    const now = this.now();
    let last = -1;
    for (let i = 0; i < this.held.length; i++) if (this.held[i]!.due <= now) last = i;
    this.flush(last + 1);
    this.arm();
  }

  /** Release the first `n` held events (the lowest cursors). */
  private flush(n: number): void {
    if (n <= 0) return;
    const out = this.held.splice(0, n);
    for (const h of out) this.release(h.item);
  }

  private arm(): void {
    if (this.timer || this.held.length === 0 || this.stopped) return;
    let due = Infinity;
    for (const h of this.held) if (h.due < due) due = h.due;
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - this.now()));
    this.timer.unref();
  }
}
