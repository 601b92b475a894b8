/**
 * Who is in which chatroom: one entry per user (Wildfire's rule: a user is in at most one chatroom,
 * with one client), naming the connection that joined (`session`, unique across nodes and
 * restarts). Membership follows connections: a device is in a room from its join until it leaves, is
 * removed (replaced, kicked, the room destroyed) or its connection ends. Nothing of it is durable.
 *
 * Contract (every backend; test/contract/chatroom-membership.contract.ts):
 * - Each method is atomic with respect to the others, on every node: `join` replaces the user's entry
 *   (in whatever room it is) in one step, so two joins of one user never leave two entries.
 * - `leave` with a session removes the entry only while it is still that session's: a connection
 *   that ends after its user joined again elsewhere (a newer session) removes nothing.
 * - Reads (`of`, `members`, `count`) see every write that resolved before they were called.
 * - A backend shared by several nodes (e.g. Redis) must not keep entries of a node that died for
 *   ever: sessions start with the node's id (`${nodeId}:…`) so they can be purged by node.
 */
export interface ChatroomMember {
  userId: string;
  clientId: string;
  platform: number;
  /** The joining connection's id (unique across nodes and restarts). */
  session: string;
  /** When it joined (ms). */
  joinedAt: number;
}

export interface ChatroomEntry {
  chatroomId: string;
  member: ChatroomMember;
}

export interface ChatroomMembership {
  /** Put `member` in `chatroomId`; returns the user's previous entry (any room, any session), now gone. */
  join(chatroomId: string, member: ChatroomMember): Promise<ChatroomEntry | null>;
  /**
   * Remove the user's entry from `chatroomId` (only that session's, when given); returns the entry
   * removed, or null when there was none to remove.
   */
  leave(chatroomId: string, userId: string, session?: string): Promise<ChatroomMember | null>;
  /** The user's entry, or null. */
  of(userId: string): Promise<ChatroomEntry | null>;
  /** Up to `limit` members of the room, in join order (oldest first). */
  members(chatroomId: string, limit: number): Promise<ChatroomMember[]>;
  count(chatroomId: string): Promise<number>;
  /** Remove every entry of the room; returns them. */
  clear(chatroomId: string): Promise<ChatroomMember[]>;
}
