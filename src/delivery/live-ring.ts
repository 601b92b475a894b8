/**
 * The last cursors a connection sent live (SIZE of them, 512 bytes, allocated on the first one), in
 * send order, not cursor order (an event can arrive late: published by another node after a later
 * one). `floor` is the highest cursor that left the ring: above it, every cursor sent live is in the
 * ring, so an event above the floor that is not in it was never sent.
 */
export class LiveRing {
  static readonly SIZE = 64;
  private ring: Float64Array | null = null;
  private pos = 0;
  /** Cursors added since the ring was allocated (it has wrapped once this passes SIZE). */
  private count = 0;
  floor = 0;

  add(seq: number): void {
    this.ring ??= new Float64Array(LiveRing.SIZE);
    if (this.count >= LiveRing.SIZE) {
      const evicted = this.ring[this.pos]!;
      if (evicted > this.floor) this.floor = evicted;
    }
    this.count++;
    this.ring[this.pos] = seq;
    this.pos = (this.pos + 1) % LiveRing.SIZE;
  }

  has(seq: number): boolean {
    return this.ring !== null && this.ring.includes(seq);
  }
}
