import crypto from 'node:crypto';
import { isChannelConversationId, type ChannelAccount, type ChannelConversation, type ChannelMessage } from '../channel-apps/model.js';
import { CoreError, invalid, notExist } from '../errors.js';
import type { AgentNotice, HubEvent } from '../events.js';
import { ConvType } from '../model.js';
import type { Bus } from '../ports/bus.js';
import type { ChannelHooks } from '../ports/channel-hooks.js';
import type { ServiceSessionFilter, SessionActivity } from '../ports/service-sessions.js';
import type { Store } from '../ports/store.js';
import { idleDeadline, pickAgent, takeQueued, transferRefusal, type AgentFacts, type CloseReason, type ServiceSession } from '../service-session-rules.js';

export interface ServiceSessionOptions {
  /** A session with no message either way for this long is closed (ms). */
  idleTimeoutMs: number;
  /** Most sessions assigned to one agent at once (0: no limit); past it new sessions queue. */
  maxPerAgent: number;
  now?: () => number;
  /** Failures of work started from bus events (touching a session on a reply). */
  onError?: (err: unknown) => void;
}

/** Sessions handed out per connect or sweep step at most (bounded work per call). */
const BATCH = 500;

/**
 * Customer-service sessions (seed 002's ServiceId) — the use cases; the rules are in
 * core/service-session-rules.ts, persistence behind ServiceSessionStore.
 *
 * - A contact's message with no open session (ChannelHooks.onInbound, onHumanRequested) opens one,
 *   assigned to an online agent of the account's pool (least busy first) or queued when none is online.
 *   A message in a session moves its idle deadline (a contact's in the message's own write, through
 *   inboundActivity; an agent's after it, from the bus).
 * - An agent who connects (the gateway reports a login) takes the queued sessions of the accounts whose
 *   pool it is in, oldest first, up to maxPerAgent.
 * - Admins list, assign, transfer and close sessions; the idle sweep closes sessions whose deadline
 *   passed (the deadline is a column, so a restart loses none: see sweep()).
 * - Every change is announced to the account's agents (`agent.notice` → device frame `service_session`).
 *
 * Who is online comes from `isOnline` (the gateway's presence, cluster-wide; set once the gateway exists).
 */
export class ServiceSessionService implements ChannelHooks {
  private isOnline: (userId: string) => Promise<boolean> = () => Promise.resolve(false);
  /** Every channel account (agentConnected looks up the agent's), until the next channel-apps invalidation. */
  private accounts: Promise<ChannelAccount[]> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly store: Pick<Store, 'serviceSessions' | 'channelApps'>,
    private readonly bus: Bus,
    private readonly opts: ServiceSessionOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Where online status comes from (the Presence port: every node's connections). */
  attachPresence(isOnline: (userId: string) => Promise<boolean>): void {
    this.isOnline = isOnline;
  }

  // ------------------------------------------------------------------ ChannelHooks (part A calls them)

  /** A contact's message moves its open session's deadline, in the message's write (see fresh()). */
  inboundActivity(conversation: ChannelConversation): SessionActivity {
    const at = this.now();
    return {
      channelAccountId: conversation.channelAccountId,
      contact: conversation.contactId,
      at,
      idleAt: idleDeadline(at, this.opts.idleTimeoutMs),
      minStep: this.minStep(),
    };
  }

  /** The message's write found the contact's open session (and touched it): done; else open one. */
  async onInbound(conversation: ChannelConversation, _message: ChannelMessage, session?: ServiceSession | null): Promise<void> {
    if (session) return;
    await this.ensure(conversation.channelAccountId, conversation.contactId, conversation);
  }

  async onHumanRequested(conversation: ChannelConversation, _message: ChannelMessage): Promise<void> {
    const s = await this.ensure(conversation.channelAccountId, conversation.contactId, conversation);
    // Already queued: try again now (an agent may have come online since).
    if (s.state === 'queued') await this.tryAssign(s, conversation);
  }

  /**
   * Bus events: an agent's message in a channel conversation moves its session's idle deadline
   * (inbound messages do so through onInbound). Synchronous; the touch runs in the background, its
   * failure reported (a missed touch can only close a session earlier).
   */
  handle(e: HubEvent): void {
    if (e.type === 'channel-apps.invalidate') {
      this.accounts = null;
      return;
    }
    if (e.type !== 'sync' || e.event.type !== 'message' || !e.event.message) return;
    const m = e.event.message;
    if (m.conv.type !== ConvType.group || !isChannelConversationId(m.conv.target)) return;
    if (m.sender.startsWith('cu_') || m.sender.startsWith('ca_')) return;
    this.onReply(m.conv.target).catch((err: unknown) => this.opts.onError?.(err));
  }

  /** A message of an agent in the contact's conversation: the session's idle deadline moves. */
  async onReply(conversationId: string): Promise<void> {
    const conv = await this.store.channelApps.getConversation(conversationId);
    if (!conv) return;
    const s = await this.store.serviceSessions.current(conv.channelAccountId, conv.contactId);
    const idleAt = idleDeadline(this.now(), this.opts.idleTimeoutMs);
    if (s && this.fresh(s, idleAt)) await this.store.serviceSessions.touch(s.serviceId, this.now(), idleAt);
  }

  /** The contact's open session, touched; or a new one, assigned or queued. */
  private async ensure(accountId: string, contact: string, conv: ChannelConversation): Promise<ServiceSession> {
    const now = this.now();
    const idleAt = idleDeadline(now, this.opts.idleTimeoutMs);
    const cur = await this.store.serviceSessions.current(accountId, contact);
    if (cur) {
      if (!this.fresh(cur, idleAt)) return cur;
      await this.store.serviceSessions.touch(cur.serviceId, now, idleAt);
      return { ...cur, lastActivityAt: Math.max(cur.lastActivityAt, now), idleAt: Math.max(cur.idleAt, idleAt) };
    }
    const account = await this.store.channelApps.getConfig('channelAccount', accountId);
    const agent = account ? pickAgent(await this.pool(account), { maxLoad: this.opts.maxPerAgent }) : null;
    const r = await this.store.serviceSessions.open({ serviceId: newServiceId(), channelAccountId: accountId, contact, agent: agent ?? '', now, idleAt });
    if (r.opened) await this.announce(account, { type: 'service_session', event: r.session.state === 'assigned' ? 'assigned' : 'opened', session: r.session, conv: convOf(conv) });
    return r.session;
  }

  private async tryAssign(s: ServiceSession, conv?: ChannelConversation): Promise<void> {
    const account = await this.store.channelApps.getConfig('channelAccount', s.channelAccountId);
    if (!account) return;
    const agent = pickAgent(await this.pool(account), { maxLoad: this.opts.maxPerAgent });
    if (!agent) return;
    const now = this.now();
    const done = await this.store.serviceSessions.assign(s.serviceId, agent, now, idleDeadline(now, this.opts.idleTimeoutMs), '');
    if (done) await this.announce(account, { type: 'service_session', event: 'assigned', session: done, ...(conv ? { conv: convOf(conv) } : {}) });
  }

  /**
   * Whether moving the session's deadline to `idleAt` is worth a write: only when it moves by more than
   * a fiftieth of the idle timeout (36 s of the default 30 min). A contact writing several messages a
   * second costs one write per such step, and the session closes at most that much (2 %) early.
   */
  private fresh(s: ServiceSession, idleAt: number): boolean {
    return idleAt - s.idleAt > this.minStep();
  }

  private minStep(): number {
    return this.opts.idleTimeoutMs / 50;
  }

  /** The account's agents with their online state and load. */
  private async pool(account: ChannelAccount): Promise<AgentFacts[]> {
    const loads = await this.store.serviceSessions.loads(account.agents);
    const online = await Promise.all(account.agents.map((userId) => this.isOnline(userId)));
    return account.agents.map((userId, i) => ({ userId, online: online[i] ?? false, load: loads[userId] ?? 0 }));
  }

  // ------------------------------------------------------------------ agents connecting

  /** An agent connected: it takes the queued sessions of its accounts, oldest first. Returns how many. */
  async agentConnected(userId: string): Promise<number> {
    // Every device login asks: the accounts are read once and kept until a channel-apps invalidation.
    this.accounts ??= this.store.channelApps.listConfig('channelAccount').catch((err: unknown) => {
      this.accounts = null;
      throw err;
    });
    const accounts = (await this.accounts).filter((a) => a.agents.includes(userId));
    if (accounts.length === 0) return 0;
    const queued = await this.store.serviceSessions.queued(
      accounts.map((a) => a.channelAccountId),
      BATCH,
    );
    if (queued.length === 0) return 0;
    const load = (await this.store.serviceSessions.loads([userId]))[userId] ?? 0;
    const byId = new Map(accounts.map((a) => [a.channelAccountId, a]));
    let n = 0;
    for (const s of takeQueued(queued, load, this.opts.maxPerAgent)) {
      const now = this.now();
      const done = await this.store.serviceSessions.assign(s.serviceId, userId, now, idleDeadline(now, this.opts.idleTimeoutMs), '');
      if (!done) continue; // assigned or closed meanwhile
      n++;
      await this.announce(byId.get(s.channelAccountId) ?? null, { type: 'service_session', event: 'assigned', session: done, ...(await this.convFor(done)) });
    }
    return n;
  }

  // ------------------------------------------------------------------ admin

  async get(serviceId: string): Promise<ServiceSession> {
    const s = await this.store.serviceSessions.get(serviceId);
    if (!s) throw notExist(`session ${serviceId} does not exist`);
    return s;
  }

  list(f: ServiceSessionFilter): Promise<{ sessions: ServiceSession[]; total: number }> {
    return this.store.serviceSessions.list(f);
  }

  /** Assign a queued or assigned session to an agent of the account's pool (an admin's choice: online or not). */
  async assign(serviceId: string, agent: string): Promise<ServiceSession> {
    const s = await this.get(serviceId);
    const account = await this.store.channelApps.getConfig('channelAccount', s.channelAccountId);
    if (s.state === 'closed') throw new CoreError('no_right', `session ${serviceId} is closed`);
    if (!account || !account.agents.includes(agent)) throw invalid(`${agent} is not an agent of channel account ${s.channelAccountId}`);
    const now = this.now();
    const done = await this.store.serviceSessions.assign(serviceId, agent, now, idleDeadline(now, this.opts.idleTimeoutMs));
    if (!done) throw new CoreError('no_right', `session ${serviceId} is closed`);
    await this.announce(account, {
      type: 'service_session',
      event: s.agent && s.agent !== agent ? 'transferred' : 'assigned',
      session: done,
      ...(s.agent && s.agent !== agent ? { previousAgent: s.agent } : {}),
      ...(await this.convFor(done)),
    });
    return done;
  }

  /** Move an open session from its agent to another agent of the pool (refused if it changed meanwhile). */
  async transfer(serviceId: string, to: string): Promise<ServiceSession> {
    const s = await this.store.serviceSessions.get(serviceId);
    const account = s ? await this.store.channelApps.getConfig('channelAccount', s.channelAccountId) : null;
    const refusal = transferRefusal(s, to, account?.agents ?? []);
    if (refusal) {
      if (!s) throw notExist(`session ${serviceId} does not exist`);
      if (s.state === 'closed') throw new CoreError('no_right', refusal);
      throw invalid(refusal);
    }
    const now = this.now();
    const done = await this.store.serviceSessions.assign(serviceId, to, now, idleDeadline(now, this.opts.idleTimeoutMs), s!.agent);
    if (!done) throw new CoreError('no_right', `session ${serviceId} changed meanwhile (closed or reassigned); read it again`);
    await this.announce(account, {
      type: 'service_session',
      event: 'transferred',
      session: done,
      ...(s!.agent ? { previousAgent: s!.agent } : {}),
      ...(await this.convFor(done)),
    });
    return done;
  }

  async close(serviceId: string, reason: CloseReason = 'admin'): Promise<ServiceSession> {
    const s = await this.get(serviceId);
    const done = await this.store.serviceSessions.close(serviceId, reason, this.now());
    if (!done) throw new CoreError('no_right', `session ${s.serviceId} is closed already`);
    await this.announceClosed(done);
    return done;
  }

  /** The session a reply to the contact belongs to (its ServiceId), or null. */
  current(channelAccountId: string, contact: string): Promise<ServiceSession | null> {
    return this.store.serviceSessions.current(channelAccountId, contact);
  }

  // ------------------------------------------------------------------ idle timeout

  /**
   * Close every session whose idle deadline has passed (in steps of BATCH). Each close is conditional
   * on the deadline still being due, so a message that moved it meanwhile keeps the session open, and
   * two nodes sweeping at once close each session once. Returns how many it closed.
   */
  async sweep(): Promise<number> {
    let n = 0;
    for (;;) {
      const now = this.now();
      const due = await this.store.serviceSessions.dueIdle(now, BATCH);
      for (const s of due) {
        const done = await this.store.serviceSessions.close(s.serviceId, 'idle', now, now);
        if (!done) continue;
        n++;
        await this.announceClosed(done);
      }
      if (due.length < BATCH) return n;
    }
  }

  private async announceClosed(s: ServiceSession): Promise<void> {
    const account = await this.store.channelApps.getConfig('channelAccount', s.channelAccountId);
    await this.announce(account, { type: 'service_session', event: 'closed', session: s, ...(await this.convFor(s)) });
  }

  /** The contact's latest conversation with the account, as the frame's `conv`. */
  private async convFor(s: ServiceSession): Promise<{ conv?: { type: number; target: string; line: number } }> {
    const c = await this.store.channelApps.latestConversation(s.contact);
    return c && c.channelAccountId === s.channelAccountId ? { conv: convOf(c) } : {};
  }

  /** Tell the account's agents (and a transfer's previous agent). */
  private async announce(account: ChannelAccount | null, notice: AgentNotice): Promise<void> {
    const users = new Set(account?.agents ?? []);
    if (notice.type === 'service_session') {
      if (notice.session.agent) users.add(notice.session.agent);
      if (notice.previousAgent) users.add(notice.previousAgent);
    }
    if (users.size === 0) return;
    const e: HubEvent = { type: 'agent.notice', users: [...users], notice };
    await this.bus.publish(e);
  }
}

function convOf(c: ChannelConversation): { type: number; target: string; line: number } {
  return { type: ConvType.group, target: c.conversationId, line: 0 };
}

/** A new ServiceId: 32 hex characters (random). */
export function newServiceId(): string {
  return crypto.randomBytes(16).toString('hex');
}
