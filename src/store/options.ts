/** Options every SQL store takes alike. */
export interface FanoutOptions {
  /**
   * Groups and channels with at most this many receivers get per-user rows (unread counters, per-user
   * hides) written with the message; larger ones get one shared event read by membership.
   */
  inlineFanoutMax: number;
}
