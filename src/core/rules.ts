import { CoreError } from './errors.js';
import { GroupMemberType, UserStatus } from './model.js';

/**
 * Permission rules of sending, as pure functions of facts. Store backends evaluate them inside the
 * write transaction with facts read in that transaction, so a check and the write it decides are atomic.
 */

/** The sender must exist and be neither muted nor blocked. */
export function checkSender(sender: { status: number } | null | undefined, senderId: string): void {
  if (!sender) throw new CoreError('not_exist', `user ${senderId} does not exist`);
  if (sender.status === UserStatus.blocked || sender.status === UserStatus.muted) {
    throw new CoreError('user_blocked', `user ${senderId} may not send`);
  }
}

/**
 * A group member may send unless silenced, or unless the whole group is muted and the member is not
 * the owner, a manager or explicitly allowed.
 */
export function checkGroupSend(
  group: { mute: number } | null | undefined,
  member: { type: number } | null | undefined,
  groupId: string,
): void {
  if (!group) throw new CoreError('not_exist', `group ${groupId} does not exist`);
  if (!member || member.type === GroupMemberType.removed) throw new CoreError('not_in_group');
  if (member.type === GroupMemberType.silent) throw new CoreError('group_muted', 'member is muted');
  if (
    group.mute === 1 &&
    member.type !== GroupMemberType.owner &&
    member.type !== GroupMemberType.manager &&
    member.type !== GroupMemberType.allowed
  ) {
    throw new CoreError('group_muted');
  }
}

/**
 * Channel conversations: the owner speaks to every subscriber; a subscriber speaks to the owner only.
 * Anyone else is refused.
 */
export function channelSendScope(
  channel: { owner: string } | null | undefined,
  senderId: string,
  subscribed: boolean,
  channelId: string,
): 'subscribers' | 'owner' {
  if (!channel) throw new CoreError('not_exist', `channel ${channelId} does not exist`);
  if (channel.owner === senderId) return 'subscribers';
  if (!subscribed) throw new CoreError('not_in_channel');
  return 'owner';
}
