import { messageKey } from '../core/ids.js';
import type { Conversation, Payload, StoredMessage } from '../core/model.js';
import { ConvType, MessageKind, PersistFlag } from '../core/model.js';
import type { BeforeSendDecision, EffectsPlanner, MembershipFacts, Origin, SendFacts, StateFacts } from '../core/ports/effects.js';
import type { EffectSpec, NewJob } from '../core/ports/outbox.js';
import type { Store } from '../core/ports/store.js';
import type { Logger } from '../log.js';
import { interpretBeforeReply, type TargetDecision } from './before-reply.js';
import { CallbackTimeoutError, isTimeout } from './deadline.js';
import { ipv4Form, optPlatform, postCallback } from './http.js';
import { toMsgBody } from './msgbody.js';
import { DEFAULT_BEFORE_SEND_CONCURRENCY, type CallbackTarget, type CallbackTargets } from './targets.js';

/** A target's turn in the before-send phase needs at least this much of the phase's budget left. */
const MIN_ASK_MS = 50;

/** Outbox channel of callback jobs. */
export const WEBHOOK = 'webhook';

/** Tencent group type names for Wildfire group types (0 normal, 1 free, 2 restricted). */
function groupTypeName(type: number): string {
  return type === 1 ? 'Public' : 'Private';
}

function meta(origin: Origin): Record<string, string> {
  return { ClientIP: ipv4Form(origin.ip), OptPlatform: optPlatform(origin.kind === 'device' ? origin.platform : undefined) };
}

/** One entry of Tencent's GroupAtInfo: `GroupAtAllFlag` 1 for @everyone, else 0 with the user. */
export interface GroupAt {
  GroupAtAllFlag: 0 | 1;
  GroupAt_Account?: string;
}

/**
 * Tencent's GroupAtInfo from a payload's mentions (Wildfire's mentionedType 1: the users of
 * mentionedTarget; 2: everyone, plus any users listed), or null when the message mentions nobody:
 * the field is then left out, as Tencent leaves it out of messages without @.
 */
export function groupAtInfo(p: Payload): GroupAt[] | null {
  if (p.mentionedType !== 1 && p.mentionedType !== 2) return null;
  const out: GroupAt[] = p.mentionedType === 2 ? [{ GroupAtAllFlag: 1 }] : [];
  for (const u of new Set(p.mentionedTarget)) out.push({ GroupAtAllFlag: 0, GroupAt_Account: u });
  return out.length > 0 ? out : null;
}

/** `{GroupAtInfo}` when the payload mentions someone, else nothing. */
function atFields(p: Payload): { GroupAtInfo?: GroupAt[] } {
  const at = groupAtInfo(p);
  return at ? { GroupAtInfo: at } : {};
}

/** Jobs of one conversation (per target) are delivered in order. */
function c2cKey(a: string, b: string): string {
  return a < b ? `c2c:${a}:${b}` : `c2c:${b}:${a}`;
}

/**
 * Callbacks in Tencent Cloud IM's format (seed 003 and its family): before-send hooks called
 * synchronously, after-callbacks planned as outbox jobs committed with the change that causes them.
 */
export class TencentCallbacks implements EffectsPlanner {
  /** Before-send requests in flight per target id (this node). */
  private readonly inFlight = new Map<string, number>();
  private readonly lastWarn = new Map<string, number>();

  constructor(
    private readonly targets: CallbackTargets,
    private readonly store: { groups: Pick<Store['groups'], 'getGroup'> },
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  private jobs(command: string, orderKey: string, body: Record<string, unknown>, m: Record<string, string>, fill?: EffectSpec['fill']): EffectSpec[] {
    return this.targets.for(command).map((t) => ({
      channel: WEBHOOK,
      target: t.id,
      orderKey: `${t.id}|${orderKey}`,
      kind: command,
      body: { CallbackCommand: command, ...body },
      meta: m,
      ...(fill ? { fill } : {}),
    }));
  }

  /**
   * Before-send: the targets listing the command are asked in turn, within ONE budget for the whole
   * phase — the largest timeout among them, from the start of the phase. Each request is bounded by
   * its own target's timeout and by what is left of the budget; a target whose turn comes when less
   * than MIN_ASK_MS is left counts as timed out. The first rejection (or drop) wins; replacements
   * accumulate (each target is sent the content as the earlier ones replaced it). A target that
   * fails — timeout, network error, non-2xx, unusable reply, or BUSY (beforeSendConcurrency requests
   * already in flight to it) — gets its beforeSendPolicy: allow skips it, reject refuses the send
   * (249 after a timeout, 4 with the reason otherwise). Never throws for anything a target does.
   */
  async beforeSend(f: SendFacts): Promise<BeforeSendDecision> {
    const c2c = f.conv.type === ConvType.single;
    const command = c2c ? 'C2C.CallbackBeforeSendMsg' : f.conv.type === ConvType.group ? 'Group.CallbackBeforeSendMsg' : null;
    if (!command) return { action: 'allow' };
    const targets = this.targets.for(command);
    if (targets.length === 0) return { action: 'allow' };
    const started = performance.now();
    const budget = Math.max(...targets.map((t) => t.timeoutMs));
    let payload = f.payload;
    let replaced = false;
    const group = c2c ? null : await this.store.groups.getGroup(f.conv.target);
    // The message's identity is reserved now, so the before- and after-callbacks carry the same key.
    const id = await f.identity();
    const key = messageKey(id.uid, id.timestamp);
    for (const t of targets) {
      const now = Date.now();
      const body: Record<string, unknown> = c2c
        ? {
            CallbackCommand: command,
            From_Account: f.sender,
            To_Account: f.conv.target,
            MsgSeq: key.seq,
            MsgRandom: key.random,
            MsgTime: key.time,
            MsgKey: key.key,
            MsgId: f.clientMsgId ?? '',
            OnlineOnlyFlag: payload.persistFlag === PersistFlag.transparent ? 1 : 0,
            MsgBody: toMsgBody(payload),
            CloudCustomData: payload.extra,
          }
        : {
            CallbackCommand: command,
            GroupId: f.conv.target,
            Type: groupTypeName(group?.type ?? 0),
            From_Account: f.sender,
            Operator_Account: f.origin.kind === 'admin' ? 'admin' : f.sender,
            Random: key.random,
            MsgId: f.clientMsgId ?? '',
            OnlineOnlyFlag: payload.persistFlag === PersistFlag.transparent ? 1 : 0,
            MsgBody: toMsgBody(payload),
            CloudCustomData: payload.extra,
            EventTime: now,
            ...atFields(payload),
          };
      const left = Math.floor(started + budget - performance.now());
      const d =
        left < MIN_ASK_MS
          ? this.failed(t, command, new CallbackTimeoutError(budget))
          : await this.askBefore(t, command, body, f.origin, c2c, payload, Math.min(t.timeoutMs, left));
      if (d.action === 'replace') {
        payload = d.payload;
        replaced = true;
        continue;
      }
      if (d.action !== 'allow') return d;
    }
    return replaced ? { action: 'replace', payload } : { action: 'allow' };
  }

  /** One before-send call: Tencent's reply codes, or the target's policy when it fails or is busy. */
  private async askBefore(
    t: CallbackTarget,
    command: string,
    body: Record<string, unknown>,
    origin: Origin,
    c2c: boolean,
    payload: Payload,
    timeoutMs: number,
  ): Promise<TargetDecision> {
    const cap = t.beforeSendConcurrency ?? DEFAULT_BEFORE_SEND_CONCURRENCY;
    const busy = this.inFlight.get(t.id) ?? 0;
    if (busy >= cap) return this.failed(t, command, new Error(`callback target ${t.id} is busy (${busy} before-send requests in flight)`));
    this.inFlight.set(t.id, busy + 1);
    try {
      const res = await postCallback(t, command, JSON.stringify(body), meta(origin), { timeoutMs });
      return interpretBeforeReply(res, c2c, payload);
    } catch (err) {
      return this.failed(t, command, err);
    } finally {
      const n = (this.inFlight.get(t.id) ?? 1) - 1;
      if (n > 0) this.inFlight.set(t.id, n);
      else this.inFlight.delete(t.id);
    }
  }

  /** A failed before-send call: the target's policy (allow, or reject with 249 for a timeout, else 4). */
  private failed(t: CallbackTarget, command: string, err: unknown): TargetDecision {
    this.warnThrottled(t.id, { target: t.id, command, err: String(err) }, 'before-send callback failed');
    if (t.beforeSendPolicy === 'allow') return { action: 'allow' };
    if (isTimeout(err)) return { action: 'reject', code: 249, msg: 'timeout' };
    return { action: 'reject', code: 4, msg: `before-send callback failed: ${err instanceof Error ? err.message : String(err)}` };
  }

  /** At most one warning per target and second (a target down under load would flood the log). */
  private warnThrottled(id: string, fields: Record<string, unknown>, msg: string): void {
    const now = performance.now();
    const last = this.lastWarn.get(id);
    if (last !== undefined && now - last < 1000) return;
    this.lastWarn.set(id, now);
    this.log.warn(fields, msg);
  }

  async afterSend(f: SendFacts): Promise<EffectSpec[]> {
    const m = meta(f.origin);
    const online = f.payload.persistFlag === PersistFlag.transparent ? 1 : 0;
    const msgBody = toMsgBody(f.payload);
    if (f.conv.type === ConvType.single) {
      return this.jobs(
        'C2C.CallbackAfterSendMsg',
        c2cKey(f.sender, f.conv.target),
        {
          From_Account: f.sender,
          To_Account: f.conv.target,
          MsgSeq: 0,
          MsgRandom: 0,
          MsgTime: 0,
          MsgKey: '',
          MsgId: f.clientMsgId ?? '',
          OnlineOnlyFlag: online,
          SendMsgResult: 0,
          ErrorInfo: 'send msg succeed',
          UnreadMsgNum: 0,
          MsgBody: msgBody,
          CloudCustomData: f.payload.extra,
        },
        m,
        {
          messageKey: { seq: 'MsgSeq', random: 'MsgRandom', time: 'MsgTime', key: 'MsgKey' },
          // Transparent messages are never counted: the count stays what it was.
          unreadOf: { user: f.conv.target, field: 'UnreadMsgNum' },
        },
      );
    }
    if (f.conv.type === ConvType.group && this.targets.for('Group.CallbackAfterSendMsg').length > 0) {
      const group = await this.store.groups.getGroup(f.conv.target);
      return this.jobs(
        'Group.CallbackAfterSendMsg',
        `group:${f.conv.target}`,
        {
          GroupId: f.conv.target,
          Type: groupTypeName(group?.type ?? 0),
          From_Account: f.sender,
          Operator_Account: f.origin.kind === 'admin' ? 'admin' : f.sender,
          Random: 0,
          MsgSeq: 0,
          MsgId: f.clientMsgId ?? '',
          MsgTime: 0,
          OnlineOnlyFlag: online,
          MsgBody: msgBody,
          CloudCustomData: f.payload.extra,
          EventTime: Date.now(),
          ...atFields(f.payload),
        },
        m,
        // MsgSeq: the message's number in its group (1, 2, … in commit order); Random and MsgTime from its uid.
        { messageKey: { random: 'Random', time: 'MsgTime' }, groupSeq: 'MsgSeq' },
      );
    }
    return [];
  }

  async afterRecall(message: StoredMessage, _operator: string, origin: Origin): Promise<EffectSpec[]> {
    if (message.kind !== MessageKind.conversation || message.conv.type !== ConvType.single) return [];
    return this.jobs(
      'C2C.CallbackAfterMsgWithDraw',
      c2cKey(message.sender, message.conv.target),
      {
        From_Account: message.sender,
        To_Account: message.conv.target,
        MsgKey: messageKey(message.uid, message.timestamp).key,
        UnreadMsgNum: 0,
        EventTime: Date.now(),
      },
      meta(origin),
      { unreadOf: { user: message.conv.target, field: 'UnreadMsgNum' } },
    );
  }

  async afterRead(reader: string, conv: Conversation, timestamp: number, origin: Origin): Promise<EffectSpec[]> {
    if (conv.type !== ConvType.single) return [];
    return this.jobs(
      'C2C.CallbackAfterMsgReport',
      c2cKey(reader, conv.target),
      { Report_Account: reader, Peer_Account: conv.target, LastReadTime: Math.floor(timestamp / 1000), UnreadMsgNum: 0, EventTime: Date.now() },
      meta(origin),
      { unreadOf: { user: reader, field: 'UnreadMsgNum' } },
    );
  }

  async membership(f: MembershipFacts): Promise<EffectSpec[]> {
    const key = `group:${f.groupId}`;
    const type = groupTypeName(f.group.type);
    const m = meta(f.origin);
    const list = (users: string[]): Array<{ Member_Account: string }> => users.map((u) => ({ Member_Account: u }));
    const now = Date.now();
    switch (f.change) {
      case 'created':
        return this.jobs(
          'Group.CallbackAfterCreateGroup',
          key,
          {
            GroupId: f.groupId,
            Operator_Account: f.operator,
            Owner_Account: f.group.owner,
            Type: type,
            Name: f.group.name,
            CreateGroupNum: 0,
            MemberList: list(f.members),
            UserDefinedDataList: [],
            EventTime: now,
          },
          m,
          // CreateGroupNum: the owner's groups of this type, the new one included, counted in the create's transaction.
          { ownedGroups: { owner: f.group.owner, type: f.group.type, field: 'CreateGroupNum' } },
        );
      case 'dismissed':
        return this.jobs(
          'Group.CallbackAfterGroupDestroyed',
          key,
          { GroupId: f.groupId, Type: type, Owner_Account: f.group.owner, Name: f.group.name, MemberList: list(f.members), EventTime: now },
          m,
        );
      case 'joined':
        return this.jobs(
          'Group.CallbackAfterNewMemberJoin',
          key,
          { GroupId: f.groupId, Type: type, JoinType: 'Invited', Operator_Account: f.operator, NewMemberList: list(f.members), EventTime: now },
          m,
        );
      case 'exited':
        return this.jobs(
          'Group.CallbackAfterMemberExit',
          key,
          { GroupId: f.groupId, Type: type, ExitType: f.how === 'quit' ? 'Quit' : 'Kicked', Operator_Account: f.operator, ExitMemberList: list(f.members), EventTime: now },
          m,
        );
    }
  }

  async state(f: StateFacts): Promise<NewJob[]> {
    const action = f.action === 'login' ? 'Login' : f.action === 'logout' ? 'Logout' : 'Disconnect';
    const reason = { register: 'Register', unregister: 'Unregister', link_close: 'LinkClose', timeout: 'TimeOut' }[f.reason];
    return this.jobs('State.StateChange', `state:${f.userId}`, { EventTime: Date.now(), Info: { Action: action, To_Account: f.userId, Reason: reason } }, meta(f.origin));
  }
}
