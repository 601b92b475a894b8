import { BoundedCache, SharedLoads } from '../bounded-cache.js';
import type { HubEvent } from '../events.js';
import type { Conversation } from '../model.js';
import { ConvType } from '../model.js';
import type { Store } from '../ports/store.js';

export interface ConversationPeersOptions {
  /** Most cached facts: each user counts 1 plus the chats known for it. */
  maxFacts: number;
  maxAgeMs: number;
  now: () => number;
}

const DEFAULTS: ConversationPeersOptions = { maxFacts: 200_000, maxAgeMs: 10 * 60_000, now: Date.now };

const chatKey = (line: number, peer: string): string => `${line}\u0000${peer}`;

/**
 * Which single chats a user takes part in: those in the user's conversation list (a stored message
 * was exchanged with that user on that line). Read reports are accepted only for those, so nobody can
 * push read receipts to a user they never talked with.
 *
 * Only positive facts are cached (a chat, once it exists, stays a fact until the user deletes it from
 * the list); a chat not known is looked up in the store again, so a new conversation is never refused
 * because of the cache. Chats are learnt from sends committed on this node, and forgotten on the
 * user's conversation delete (on every node: its sync event on the bus) and on the user's invalidation.
 */
export class ConversationPeers {
  private readonly opts: ConversationPeersOptions;
  private readonly known: BoundedCache<Set<string>>;
  private readonly loads = new SharedLoads<Set<string>>();

  constructor(
    private readonly store: Store,
    opts: Partial<ConversationPeersOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    this.known = new BoundedCache(this.opts.maxFacts, this.opts.maxAgeMs, this.opts.now);
  }

  /** Whether `userId` has the single chat `conv` (conv.target is the other party). */
  async has(userId: string, conv: Conversation): Promise<boolean> {
    const key = chatKey(conv.line, conv.target);
    if (this.known.get(userId)?.value.has(key)) return true;
    const chats = await this.loads.run(
      userId,
      async () => {
        const list = await this.store.conversations.listConversations(userId);
        return new Set(list.filter((c) => c.conv.type === ConvType.single).map((c) => chatKey(c.conv.line, c.conv.target)));
      },
      (chats) => {
        // A user with more chats than a quarter of the cache is read each time instead.
        if (chats.size + 1 <= this.opts.maxFacts / 4) this.known.set(userId, chats, chats.size + 1);
      },
    );
    return chats.has(key);
  }

  /** A stored single-chat message between `a` and `b` on `line` committed: each has the chat now. */
  learn(a: string, b: string, line: number): void {
    this.add(a, chatKey(line, b));
    this.add(b, chatKey(line, a));
  }

  /** `userId` deleted the conversation from its list. */
  forget(userId: string, conv: Conversation): void {
    this.loads.forget(userId);
    if (conv.type !== ConvType.single) return;
    const chats = this.known.peek(userId);
    if (chats?.delete(chatKey(conv.line, conv.target))) this.known.reweigh(userId, -1);
  }

  /** Invalidations may have been missed (bus gap): drop everything. */
  invalidateAll(): void {
    this.known.clear();
    this.loads.forgetAll();
  }

  handle(e: HubEvent): void {
    // A conversation delete, made on any node, reaches every node as its sync event (addressed to the
    // deleting user): the chat is forgotten there too.
    if (e.type === 'sync' && e.event.type === 'conv_delete' && e.audience.kind === 'users' && e.event.conv) {
      for (const u of e.audience.users) this.forget(u, e.event.conv);
      return;
    }
    if (e.type === 'cache.invalidate' && e.scope === 'user') {
      this.known.delete(e.id);
      this.loads.forget(e.id);
    }
  }

  /** Only users already cached learn (a partial set is fine: a miss reads the store). */
  private add(userId: string, key: string): void {
    const chats = this.known.peek(userId);
    if (!chats || chats.has(key)) return;
    chats.add(key);
    this.known.reweigh(userId, 1);
  }
}
