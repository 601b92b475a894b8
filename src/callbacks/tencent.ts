import { messageKey } from '../core/ids.js';
import type { Conversation, StoredMessage } from '../core/model.js';
import { ConvType, MessageKind, PersistFlag } from '../core/model.js';
import type { BeforeSendDecision, EffectsPlanner, MembershipFacts, Origin, SendFacts, StateFacts } from '../core/ports/effects.js';
import type { EffectSpec, NewJob } from '../core/ports/outbox.js';
import type { Store } from '../core/ports/store.js';
import type { Logger } from '../log.js';
import { optPlatform, postCallback } from './http.js';
import { fromMsgBody, toMsgBody } from './msgbody.js';
import type { CallbackTarget, CallbackTargets } from './targets.js';

/** undici's timeout errors (headers or body), or an abort. */
export function isTimeout(e: Error): boolean {
  const code = (e as Error & { code?: string }).code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || e.name === 'TimeoutError' || e.name === 'AbortError';
}

/** Outbox channel of callback jobs. */
export const WEBHOOK = 'webhook';

/** Tencent group type names for Wildfire group types (0 normal, 1 free, 2 restricted). */
function groupTypeName(type: number): string {
  return type === 1 ? 'Public' : 'Private';
}

function meta(origin: Origin): Record<string, string> {
  return { ClientIP: origin.ip, OptPlatform: optPlatform(origin.kind === 'device' ? origin.platform : undefined) };
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
  constructor(
    private readonly targets: CallbackTargets,
    private readonly store: Store,
    private readonly log: Logger,
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

  async beforeSend(f: SendFacts): Promise<BeforeSendDecision> {
    const c2c = f.conv.type === ConvType.single;
    const command = c2c ? 'C2C.CallbackBeforeSendMsg' : f.conv.type === ConvType.group ? 'Group.CallbackBeforeSendMsg' : null;
    if (!command) return { action: 'allow' };
    const targets = this.targets.for(command);
    if (targets.length === 0) return { action: 'allow' };
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
            OnlineOnlyFlag: payload.persistFlag === PersistFlag.transparent ? 1 : 0,
            MsgBody: toMsgBody(payload),
            CloudCustomData: payload.extra,
            EventTime: now,
          };
      const d = await this.askBefore(t, command, body, f.origin, c2c);
      if (d.action === 'replace') {
        payload = d.payload === null ? payload : fromMsgBody(d.payload.body, payload);
        if (d.payload?.cloudCustomData !== undefined) payload = { ...payload, extra: d.payload.cloudCustomData };
        replaced = true;
        continue;
      }
      if (d.action !== 'allow') return d;
    }
    return replaced ? { action: 'replace', payload } : { action: 'allow' };
  }

  /** One before-send call: Tencent's reply codes, or the target's policy when it fails. */
  private async askBefore(
    t: CallbackTarget,
    command: string,
    body: Record<string, unknown>,
    origin: Origin,
    c2c: boolean,
  ): Promise<{ action: 'allow' } | { action: 'replace'; payload: { body: unknown; cloudCustomData?: string } | null } | { action: 'reject'; code: number; msg: string } | { action: 'drop' }> {
    let reply: Record<string, unknown>;
    try {
      const res = await postCallback(t, command, JSON.stringify(body), meta(origin));
      if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
      const parsed: unknown = JSON.parse(res.text);
      if (typeof parsed !== 'object' || parsed === null) throw new Error('reply is not a JSON object');
      reply = parsed as Record<string, unknown>;
    } catch (err) {
      this.log.warn({ target: t.id, command, err: String(err) }, 'before-send callback failed');
      if (t.beforeSendPolicy === 'allow') return { action: 'allow' };
      const e = err as Error;
      return isTimeout(e)
        ? { action: 'reject', code: 249, msg: 'timeout' }
        : { action: 'reject', code: 4, msg: `before-send callback failed: ${e.message}` };
    }
    const code = typeof reply['ErrorCode'] === 'number' ? reply['ErrorCode'] : Number(reply['ErrorCode'] ?? 0);
    const info = typeof reply['ErrorInfo'] === 'string' ? reply['ErrorInfo'] : '';
    if (code === 0) {
      const hasBody = Array.isArray(reply['MsgBody']) && (reply['MsgBody'] as unknown[]).length > 0;
      const ccd = typeof reply['CloudCustomData'] === 'string' ? reply['CloudCustomData'] : undefined;
      if (!hasBody && ccd === undefined) return { action: 'allow' };
      return { action: 'replace', payload: { body: hasBody ? reply['MsgBody'] : null, ...(ccd !== undefined ? { cloudCustomData: ccd } : {}) } };
    }
    if (code === 2) return { action: 'drop' };
    const [lo, hi] = c2c ? [120001, 130000] : [10100, 10200];
    if (code >= lo && code <= hi) return { action: 'reject', code, msg: info };
    // 1 (or anything else): Tencent's "forbidden" code for the sender.
    return { action: 'reject', code: c2c ? 20006 : 10016, msg: info || 'rejected by callback' };
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
          MsgTime: 0,
          OnlineOnlyFlag: online,
          MsgBody: msgBody,
          CloudCustomData: f.payload.extra,
          EventTime: Date.now(),
        },
        m,
        // MsgSeq: the message's cursor (increasing in commit order); Random and MsgTime from its uid.
        { messageKey: { random: 'Random', time: 'MsgTime' }, messageSeq: 'MsgSeq' },
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
          { GroupId: f.groupId, Operator_Account: f.operator, Owner_Account: f.group.owner, Type: type, Name: f.group.name, MemberList: list(f.members), UserDefinedDataList: [], EventTime: now },
          m,
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
