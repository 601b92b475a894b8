import type { Static } from '@sinclair/typebox';
import type { Channel, Group, GroupMember, Robot, StoredMessage, User } from '../../core/model.js';
import type { ChannelInfo, GroupInfo, GroupMemberOut, MessageOut, UserInfo } from './schemas.js';

/** Domain objects → Wildfire's JSON shapes (field names as its SDK expects them). */

export function messageOut(m: StoredMessage): Static<typeof MessageOut> {
  return { messageId: m.uid, sender: m.sender, conv: m.conv, payload: m.payload, toUsers: m.toUsers, timestamp: m.timestamp };
}

export function userOut(u: User): Static<typeof UserInfo> {
  return {
    userId: u.userId,
    name: u.name,
    displayName: u.displayName,
    portrait: u.portrait,
    gender: u.gender,
    mobile: u.mobile,
    email: u.email,
    address: u.address,
    company: u.company,
    social: u.social,
    extra: u.extra,
    type: u.type,
    updateDt: u.updateDt,
  };
}

export function groupOut(g: Group): Static<typeof GroupInfo> {
  return {
    target_id: g.groupId,
    name: g.name,
    portrait: g.portrait,
    owner: g.owner,
    type: g.type,
    extra: g.extra,
    mute: g.mute,
    join_type: g.joinType,
    private_chat: g.privateChat,
    searchable: g.searchable,
    history_message: g.historyMessage,
    max_member_count: g.maxMemberCount,
    super_group: false,
  };
}

export function memberOut(m: GroupMember): Static<typeof GroupMemberOut> {
  return { member_id: m.memberId, alias: m.alias, type: m.type, extra: m.extra, createDt: m.createDt };
}

export function channelOut(c: Channel): Static<typeof ChannelInfo> {
  return {
    channelId: c.channelId,
    name: c.name,
    desc: c.desc,
    portrait: c.portrait,
    extra: c.extra,
    owner: c.owner,
    state: c.state,
    status: c.state,
    updateDt: c.updateDt,
    callback: c.callback,
    automatic: c.automatic,
    secret: c.secret,
  };
}

/** Wildfire's OutputRobot: the robot's profile and its robot record, secret included. */
export function robotOut(u: User, r: Robot) {
  return {
    userId: u.userId,
    name: u.name,
    displayName: u.displayName,
    portrait: u.portrait,
    gender: u.gender,
    mobile: u.mobile,
    email: u.email,
    address: u.address,
    company: u.company,
    social: u.social,
    extra: u.extra,
    updateDt: u.updateDt,
    owner: r.owner,
    secret: r.secret,
    callback: r.callback,
    robotExtra: r.extra,
  };
}
