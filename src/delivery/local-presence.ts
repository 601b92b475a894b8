import type { Presence, SessionInfo } from '../core/ports/presence.js';

/** Presence of one node, in memory (the embedded default: one process is the whole cluster). */
export class LocalPresence implements Presence {
  /** Insertion order: a stable order for pages while nothing changes. */
  private readonly byKey = new Map<string, SessionInfo>();
  private readonly byUser = new Map<string, Map<string, SessionInfo>>();

  constructor(readonly nodeId: number) {}

  connected(key: string, s: SessionInfo): void {
    this.byKey.set(key, s);
    let m = this.byUser.get(s.userId);
    if (!m) this.byUser.set(s.userId, (m = new Map()));
    m.set(key, s);
  }

  disconnected(key: string): void {
    const s = this.byKey.get(key);
    if (!s) return;
    this.byKey.delete(key);
    const m = this.byUser.get(s.userId);
    m?.delete(key);
    if (m && m.size === 0) this.byUser.delete(s.userId);
  }

  async sessions(userId: string): Promise<SessionInfo[]> {
    return [...(this.byUser.get(userId)?.values() ?? [])];
  }

  async counts(): Promise<Array<{ node: number; count: number }>> {
    return [{ node: this.nodeId, count: this.byKey.size }];
  }

  async list(offset: number, count: number, node?: number): Promise<{ sessions: SessionInfo[]; total: number }> {
    if (node !== undefined && node !== this.nodeId) return { sessions: [], total: 0 };
    const out: SessionInfo[] = [];
    let i = 0;
    for (const s of this.byKey.values()) {
      if (i >= offset + count) break;
      if (i >= offset) out.push(s);
      i++;
    }
    return { sessions: out, total: this.byKey.size };
  }

  async close(): Promise<void> {
    this.byKey.clear();
    this.byUser.clear();
  }
}
