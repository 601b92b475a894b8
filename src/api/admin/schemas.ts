import { Type, type TSchema } from '@sinclair/typebox';

/**
 * JSON schemas of the admin API, in Wildfire's field names. They validate requests (a failure is
 * code 251), serialise responses and generate the OpenAPI document at /docs. Optional inputs accept
 * null, as hand-written clients send it; the Java SDK omits nulls.
 */
const nullable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));

export const Str = Type.String();
export const Int = Type.Integer();
export const OptStr = nullable(Type.String());
export const OptInt = nullable(Type.Integer());
export const StrList = Type.Array(Type.String());

export const MessageUid = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]{1,20}$' })], {
  description: 'Message uid (a JSON number; a decimal string is accepted too).',
});

export const ConversationIn = Type.Object(
  {
    type: Type.Integer({ description: '0 single, 1 group, 2 chatroom, 3 channel' }),
    target: Type.String({ minLength: 1 }),
    line: OptInt,
  },
  { additionalProperties: true },
);

export const ConversationOut = Type.Object({ type: Int, target: Str, line: Int });

export const PayloadIn = Type.Object(
  {
    type: Type.Integer({ minimum: 0, description: 'Content type (1 text, 3 image, … ≥1000 custom); the only required field.' }),
    searchableContent: OptStr,
    pushContent: OptStr,
    pushData: OptStr,
    content: OptStr,
    base64edData: OptStr,
    mediaType: OptInt,
    remoteMediaUrl: OptStr,
    persistFlag: nullable(Type.Integer({ description: '0 not persisted by clients, 1 persist, 3 persist and count unread, 4 transparent' })),
    expireDuration: OptInt,
    mentionedType: OptInt,
    mentionedTarget: nullable(StrList),
    extra: OptStr,
  },
  { additionalProperties: true },
);

export const PayloadOut = Type.Object({
  type: Int,
  searchableContent: Str,
  pushContent: Str,
  pushData: Str,
  content: Str,
  base64edData: Str,
  mediaType: Int,
  remoteMediaUrl: Str,
  persistFlag: Int,
  expireDuration: Int,
  mentionedType: Int,
  mentionedTarget: StrList,
  extra: Str,
});

export const MessageOut = Type.Object({
  messageId: Int,
  sender: Str,
  conv: ConversationOut,
  payload: PayloadOut,
  toUsers: StrList,
  timestamp: Int,
});

export const UserInfo = Type.Object({
  userId: Str,
  name: Str,
  displayName: Str,
  portrait: Str,
  gender: Int,
  mobile: Str,
  email: Str,
  address: Str,
  company: Str,
  social: Str,
  extra: Str,
  type: Int,
  updateDt: Int,
});

export const UserInfoIn = Type.Object(
  {
    userId: OptStr,
    name: OptStr,
    password: OptStr,
    displayName: OptStr,
    portrait: OptStr,
    gender: OptInt,
    mobile: OptStr,
    email: OptStr,
    address: OptStr,
    company: OptStr,
    social: OptStr,
    extra: OptStr,
    type: OptInt,
    updateDt: OptInt,
  },
  { additionalProperties: true },
);

export const GroupInfo = Type.Object({
  target_id: Str,
  name: Str,
  portrait: Str,
  owner: Str,
  type: Int,
  extra: Str,
  mute: Int,
  join_type: Int,
  private_chat: Int,
  searchable: Int,
  history_message: Int,
  max_member_count: Int,
  super_group: Type.Boolean(),
});

export const GroupInfoIn = Type.Object(
  {
    target_id: OptStr,
    name: OptStr,
    portrait: OptStr,
    owner: OptStr,
    type: OptInt,
    extra: OptStr,
    mute: OptInt,
    join_type: OptInt,
    private_chat: OptInt,
    searchable: OptInt,
    history_message: OptInt,
    max_member_count: OptInt,
  },
  { additionalProperties: true },
);

export const GroupMemberIn = Type.Object(
  { member_id: Type.String({ minLength: 1 }), alias: OptStr, type: OptInt, extra: OptStr },
  { additionalProperties: true },
);

export const GroupMemberOut = Type.Object({ member_id: Str, alias: Str, type: Int, extra: Str, createDt: Int });

/** Fields every group change accepts: who acts, and how the change is announced in the group. */
export const GroupBase = {
  operator: OptStr,
  to_lines: nullable(Type.Array(Type.Integer({ minimum: 0 }))),
  notify_message: nullable(PayloadIn),
};

export const ChannelInfo = Type.Object({
  channelId: Str,
  name: Str,
  desc: Str,
  portrait: Str,
  extra: Str,
  owner: Str,
  state: Int,
  status: Int,
  updateDt: Int,
  callback: Str,
  automatic: Int,
  secret: Str,
});

export const Timestamp = Type.Object({ timestamp: Int });
