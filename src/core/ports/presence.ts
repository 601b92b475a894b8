/** One connected device. */
export interface SessionInfo {
  userId: string;
  clientId: string;
  platform: number;
  connectedAt: number;
  /** The node (its `nodeId`) holding the connection. */
  node: number;
}

/**
 * Who is online, cluster-wide: every node's gateway records its connections here, and the online-status
 * routes read it. In memory on one node (src/delivery/local-presence.ts); in Redis for a cluster
 * (src/bus/redis-presence.ts). Contract: test/contract/presence.contract.ts.
 *
 * - `connected` / `disconnected` are called by the node holding the connection, with a key unique in
 *   the cluster (the connection's session id); they never throw and never wait: a backend that cannot
 *   write now catches up by itself (a Redis backend rewrites this node's entries when it reconnects).
 * - Queries answer for every live node; a node that stopped without cleaning up (kill -9) drops out
 *   within the backend's expiry (Redis: `bus.presenceTtlMs`).
 * - They reject (server_error for the caller) when the backend cannot answer.
 */
export interface Presence {
  /** This node's id (Wildfire numbers nodes from 1: node = nodeId + 1 on the wire). */
  readonly nodeId: number;
  connected(key: string, session: SessionInfo): void;
  disconnected(key: string): void;
  /** A user's connected devices on every node. */
  sessions(userId: string): Promise<SessionInfo[]>;
  /** Connected devices per live node (this node always listed, possibly with 0), by node id. */
  counts(): Promise<Array<{ node: number; count: number }>>;
  /**
   * A page of connected devices (of one node when `node` is given), in no particular but stable order
   * while nothing changes, with the total they are a page of.
   */
  list(offset: number, count: number, node?: number): Promise<{ sessions: SessionInfo[]; total: number }>;
  close(): Promise<void>;
}
