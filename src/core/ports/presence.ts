/** One connected device. */
export interface SessionInfo {
  userId: string;
  clientId: string;
  platform: number;
  connectedAt: number;
}

/**
 * Who is online on this node (the real-time gateway's connection registry). Multi-node deployments
 * aggregate it across nodes later; today the answers are this node's.
 */
export interface Presence {
  readonly nodeId: number;
  sessions(userId: string): SessionInfo[];
  /** Connected devices. */
  count(): number;
  /** A page of connected devices, in no particular but stable order while nothing changes. */
  list(offset: number, count: number): { sessions: SessionInfo[]; total: number };
}
