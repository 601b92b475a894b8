import { CoreError } from '../errors.js';
import { MAX_EXTRA_LENGTH, MAX_TEXT_LENGTH, MAX_TO_LINES, MAX_URL_LENGTH } from '../limits.js';
import { longerThan } from '../payload.js';
import type { Group, GroupMember, Payload } from '../model.js';
import { ConvType, GroupMemberType, PersistFlag } from '../model.js';
import { publishAll, type Bus } from '../ports/bus.js';
import { NO_EFFECTS, type EffectsPlanner, type MembershipFacts, type Origin } from '../ports/effects.js';
import type { EffectSpec } from '../ports/outbox.js';
import type { GroupFields, MemberInput, Store } from '../ports/store.js';
import { newId } from '../tokens.js';
import type { MessageService } from './messages.js';

/** Wildfire's group notification content types. */
export const GroupNotification = {
  create: 104,
  add: 105,
  kick: 106,
  quit: 107,
  dismiss: 108,
  transfer: 109,
  name: 110,
  portrait: 112,
  mute: 113,
  joinType: 114,
  privateChat: 115,
  searchable: 116,
  memberAlias: 111,
  manager: 117,
  muteMember: 118,
  allowMember: 119,
  extra: 122,
  memberExtra: 123,
} as const;

/**
 * Wildfire's /admin/group/modify `type` values: the field each one sets, the longest text value or
 * the accepted range of a numeric value, and the notification announcing it (0: Wildfire has none;
 * only a custom notify_message is sent).
 */
const MODIFY_FIELDS: Record<number, { field: keyof GroupFields; maxLength?: number; range?: [number, number]; notification: number }> = {
  0: { field: 'name', maxLength: MAX_TEXT_LENGTH, notification: GroupNotification.name },
  1: { field: 'portrait', maxLength: MAX_URL_LENGTH, notification: GroupNotification.portrait },
  2: { field: 'extra', maxLength: MAX_EXTRA_LENGTH, notification: GroupNotification.extra },
  3: { field: 'mute', range: [0, 1], notification: GroupNotification.mute },
  4: { field: 'joinType', range: [0, 2], notification: GroupNotification.joinType },
  5: { field: 'privateChat', range: [0, 1], notification: GroupNotification.privateChat },
  6: { field: 'searchable', range: [0, 1], notification: GroupNotification.searchable },
  7: { field: 'historyMessage', range: [0, 1], notification: 0 },
  8: { field: 'maxMemberCount', range: [1, 1_000_000], notification: 0 },
};

/**
 * How a group change is announced in the group: on each of `lines`, either the caller's own
 * notification payload or Wildfire's default (content type 104..122 with JSON data {g, o, n, m, ms}).
 */
export interface Notify {
  lines: number[];
  custom?: Payload | undefined;
}

const ADMIN: Origin = { kind: 'admin', ip: '' };

/**
 * A group change is announced by one message per line, sent on the request path: at most
 * MAX_TO_LINES of them. Checked before anything is written, so a refused change changes nothing.
 */
function checkNotify(notify: Notify): void {
  if (notify.lines.length > MAX_TO_LINES) throw new CoreError('invalid_parameter', `to_lines must have at most ${MAX_TO_LINES} lines`);
}

/** A plain decimal integer: digits only, no sign, blank, exponent or fraction (at most 9 digits). */
const DECIMAL = /^[0-9]{1,9}$/;

export class GroupService {
  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly messages: MessageService,
    private readonly maxMembers: number,
    private readonly effects: EffectsPlanner = NO_EFFECTS,
  ) {}

  /** Jobs announcing a membership change (committed with it); undefined when there are none. */
  private async plan(f: MembershipFacts): Promise<EffectSpec[] | undefined> {
    if (f.members.length === 0 && f.change !== 'created' && f.change !== 'dismissed') return undefined;
    const specs = await this.effects.membership(f);
    return specs.length > 0 ? specs : undefined;
  }


  private async notify(
    groupId: string,
    operator: string,
    notify: Notify,
    type: number,
    data: { n?: string; m?: string; ms?: string[] },
  ): Promise<void> {
    if (type === 0 && !(notify.custom && notify.custom.type > 0)) return;
    for (const line of notify.lines) {
      const payload: Payload =
        notify.custom && notify.custom.type > 0
          ? notify.custom
          : {
              type,
              searchableContent: '',
              pushContent: '',
              pushData: '',
              content: '',
              base64edData: Buffer.from(JSON.stringify({ g: groupId, o: operator, ...data }), 'utf8').toString('base64'),
              mediaType: 0,
              remoteMediaUrl: '',
              persistFlag: PersistFlag.persist,
              expireDuration: 0,
              mentionedType: 0,
              mentionedTarget: [],
              extra: '',
            };
      await this.messages.send({ sender: operator, conv: { type: ConvType.group, target: groupId, line }, payload, system: true });
    }
  }

  /**
   * After a committed change of the group: its cache invalidation, then (when jobs were committed
   * with it) the outbox wake-up, both published before anything is awaited, right after the store
   * call resolved; the notification messages come after.
   */
  private changed(groupId: string, specs?: EffectSpec[]): Promise<void> {
    return publishAll(this.bus, [{ type: 'cache.invalidate', scope: 'group', id: groupId }, specs ? { type: 'outbox.wake' } : null]);
  }

  async create(
    operator: string,
    groupId: string | undefined,
    fields: GroupFields,
    members: MemberInput[],
    notify: Notify,
    origin: Origin = ADMIN,
  ): Promise<Group> {
    checkNotify(notify);
    const owner = fields.owner && fields.owner !== '' ? fields.owner : operator;
    if (!owner) throw new CoreError('invalid_parameter', 'an owner or operator is required');
    const id = groupId && groupId !== '' ? groupId : newId();
    const memberIds = [...new Set([owner, ...members.map((m) => m.memberId)])];
    const specs = await this.plan({
      groupId: id,
      group: { type: fields.type ?? 0, name: fields.name ?? '', owner },
      operator: operator || owner,
      change: 'created',
      members: memberIds,
      origin,
    });
    const g = await this.store.groups.createGroup(id, { ...fields, owner }, members, this.maxMembers, specs);
    await this.changed(id, specs);
    await this.notify(id, operator || owner, notify, GroupNotification.create, { n: g.name });
    return g;
  }

  async dismiss(operator: string, groupId: string, notify: Notify, origin: Origin = ADMIN): Promise<void> {
    checkNotify(notify);
    const g = await this.get(groupId);
    await this.notify(groupId, operator, notify, GroupNotification.dismiss, {});
    const members = (await this.store.groups.listMembers(groupId)).map((m) => m.memberId);
    const specs = await this.plan({ groupId, group: { type: g.type, name: g.name, owner: g.owner }, operator, change: 'dismissed', members, origin });
    await this.store.groups.deleteGroup(groupId, specs);
    await this.changed(groupId, specs);
  }

  async get(groupId: string): Promise<Group> {
    const g = await this.store.groups.getGroup(groupId);
    if (!g) throw new CoreError('not_exist', `group ${groupId} does not exist`);
    return g;
  }

  async modify(operator: string, groupId: string, type: number, value: string, notify: Notify): Promise<void> {
    checkNotify(notify);
    const spec = MODIFY_FIELDS[type];
    if (!spec) throw new CoreError('invalid_parameter', 'type must be 0..8');
    let v: string | number = value;
    if (spec.maxLength !== undefined && longerThan(value, spec.maxLength)) {
      throw new CoreError('invalid_parameter', `value must have at most ${spec.maxLength} characters for this type`);
    }
    if (spec.range) {
      // Exactly the digits: " 5", "5\n" or "+5" are not a plain decimal integer.
      const n = DECIMAL.test(value) ? Number(value) : NaN;
      if (!(n >= spec.range[0] && n <= spec.range[1])) {
        throw new CoreError('invalid_parameter', `value must be an integer ${spec.range[0]}..${spec.range[1]} for this type`);
      }
      v = n;
    }
    await this.store.groups.updateGroup(groupId, { [spec.field]: v });
    await this.changed(groupId);
    await this.notify(groupId, operator, notify, spec.notification, { n: value });
  }

  async transfer(operator: string, groupId: string, newOwner: string, notify: Notify): Promise<void> {
    checkNotify(notify);
    await this.store.groups.transferGroup(groupId, newOwner);
    await this.changed(groupId);
    await this.notify(groupId, operator, notify, GroupNotification.transfer, { m: newOwner });
  }

  members(groupId: string): Promise<GroupMember[]> {
    return this.store.groups.listMembers(groupId);
  }

  async addMembers(operator: string, groupId: string, members: MemberInput[], notify: Notify, origin: Origin = ADMIN): Promise<void> {
    checkNotify(notify);
    const g = await this.get(groupId);
    const fresh: string[] = [];
    for (const m of members) if (!(await this.store.groups.getMember(groupId, m.memberId))) fresh.push(m.memberId);
    // Without an operator the owner announces it.
    const by = operator || g.owner;
    const specs = await this.plan({ groupId, group: { type: g.type, name: g.name, owner: g.owner }, operator: by, change: 'joined', members: fresh, origin });
    await this.store.groups.addMembers(groupId, members, this.maxMembers, specs);
    await this.changed(groupId, specs);
    await this.notify(groupId, by, notify, GroupNotification.add, { ms: members.map((m) => m.memberId) });
  }

  async removeMembers(operator: string, groupId: string, userIds: string[], notify: Notify, origin: Origin = ADMIN): Promise<void> {
    checkNotify(notify);
    const g = await this.get(groupId);
    if (userIds.includes(g.owner)) throw new CoreError('no_right', 'the owner cannot be removed');
    const members: string[] = [];
    for (const u of userIds) if (await this.store.groups.getMember(groupId, u)) members.push(u);
    // Announced first, so the removed members learn of it too; only actual members are named.
    if (members.length > 0) await this.notify(groupId, operator, notify, GroupNotification.kick, { ms: members });
    const specs = await this.plan({ groupId, group: { type: g.type, name: g.name, owner: g.owner }, operator, change: 'exited', how: 'kicked', members, origin });
    await this.store.groups.removeMembers(groupId, members, specs);
    await this.changed(groupId, specs);
  }

  async quit(userId: string, groupId: string, notify: Notify, origin: Origin = ADMIN): Promise<void> {
    checkNotify(notify);
    const g = await this.get(groupId);
    if (!(await this.store.groups.getMember(groupId, userId))) throw new CoreError('not_in_group');
    if (g.owner === userId) throw new CoreError('no_right', 'the owner cannot quit; transfer or dismiss the group');
    await this.notify(groupId, userId, notify, GroupNotification.quit, {});
    const specs = await this.plan({ groupId, group: { type: g.type, name: g.name, owner: g.owner }, operator: userId, change: 'exited', how: 'quit', members: [userId], origin });
    await this.store.groups.removeMembers(groupId, [userId], specs);
    await this.changed(groupId, specs);
  }

  /** Managers (on) or back to normal members (off). */
  async setManagers(operator: string, groupId: string, userIds: string[], on: boolean, notify: Notify): Promise<void> {
    checkNotify(notify);
    await this.store.groups.setMemberType(groupId, userIds, on ? GroupMemberType.manager : GroupMemberType.normal);
    await this.changed(groupId);
    await this.notify(groupId, operator, notify, GroupNotification.manager, { n: on ? '1' : '0', ms: userIds });
  }

  /** Silence members (on) or restore them (off). */
  async muteMembers(operator: string, groupId: string, userIds: string[], on: boolean, notify: Notify): Promise<void> {
    checkNotify(notify);
    await this.store.groups.setMemberType(groupId, userIds, on ? GroupMemberType.silent : GroupMemberType.normal);
    await this.changed(groupId);
    await this.notify(groupId, operator, notify, GroupNotification.muteMember, { n: on ? '1' : '0', ms: userIds });
  }

  /** Let members speak while the group is muted (on), or withdraw that (off). */
  async allowMembers(operator: string, groupId: string, userIds: string[], on: boolean, notify: Notify): Promise<void> {
    checkNotify(notify);
    await this.store.groups.setMemberType(groupId, userIds, on ? GroupMemberType.allowed : GroupMemberType.normal);
    await this.changed(groupId);
    await this.notify(groupId, operator, notify, GroupNotification.allowMember, { n: on ? '1' : '0', ms: userIds });
  }

  async ofUser(userId: string): Promise<string[]> {
    if (!(await this.store.users.getUser({ userId }))) throw new CoreError('not_exist', `user ${userId} does not exist`);
    return this.store.groups.groupsOfUser(userId);
  }

  /** One member of a group; not_exist for an unknown group, a non-member or a removed one (Wildfire's). */
  async member(groupId: string, memberId: string): Promise<GroupMember> {
    const m = await this.store.groups.getMember(groupId, memberId);
    if (!m || m.type === GroupMemberType.removed) throw new CoreError('not_exist', `${memberId} is not a member of ${groupId}`);
    return m;
  }

  /**
   * Set a member's alias (`field` alias, notification 111) or extra (`extra`, 123); an empty memberId
   * means the operator itself. The admin API is not checked for rights (Wildfire's); the group must
   * exist (not_exist) and the member be in it (not_in_group). Announced like other group changes.
   */
  async setMemberField(operator: string, groupId: string, memberId: string, field: 'alias' | 'extra', value: string, notify: Notify): Promise<void> {
    checkNotify(notify);
    const who = memberId !== '' ? memberId : operator;
    if (!who) throw new CoreError('invalid_parameter', 'memberId or operator is required');
    await this.store.groups.updateMember(groupId, who, { [field]: value });
    await this.changed(groupId);
    const type = field === 'alias' ? GroupNotification.memberAlias : GroupNotification.memberExtra;
    await this.notify(groupId, operator || who, notify, type, { n: value, m: who });
  }

  /**
   * The groups where the user is a member of one of `types` (0 normal, 1 manager, 2 owner, 3 muted,
   * 5 allowed; every type when empty). An unknown user has none (Wildfire answers an empty list).
   */
  ofUserByType(userId: string, types: number[]): Promise<string[]> {
    return this.store.groups.groupsOfUserByType(userId, types);
  }

  /** The groups both users are members of, by id (none for unknown users). */
  async common(a: string, b: string): Promise<string[]> {
    const [ga, gb] = await Promise.all([this.store.groups.groupsOfUser(a), this.store.groups.groupsOfUser(b)]);
    const other = new Set(gb);
    return ga.filter((g) => other.has(g));
  }
}
