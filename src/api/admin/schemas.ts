import { Type, type IntegerOptions, type TSchema } from '@sinclair/typebox';
import {
  MAX_CONTENT_LENGTH,
  MAX_EXTRA_LENGTH,
  MAX_ID_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_TO_LINES,
  MAX_URL_LENGTH,
  MAX_USER_LIST,
} from '../../core/limits.js';

/**
 * JSON schemas of the admin API, in Wildfire's field names. They validate requests (a failure is
 * code 251), serialise responses and generate the OpenAPI document at /docs. Optional inputs accept
 * null, as hand-written clients send it; the Java SDK omits nulls.
 *
 * Every integer input is bounded by the Java type of its Wildfire field, so that nothing the SDK
 * cannot read back (Gson into int/long) is stored or echoed, and nothing reaches the store that it
 * cannot bind (e.g. 1e300 or 9223372036854775808, which JSON.parse turns into inexact doubles):
 * - `Int32`: a Java `int`, −2^31 … 2^31−1;
 * - `Int53`: a Java `long` that JavaScript reads exactly, −(2^53−1) … 2^53−1.
 * `int32({minimum: 0})` and friends narrow the range further; a bound outside the type is clamped.
 * Out-of-range values answer 251 like any other schema failure.
 *
 * Every input string and list is bounded too (core/limits.ts; docs/security.md lists them): input
 * schemas use the `Id`, `Text`, `Url`, `Extra`, `Content` strings and `IdList`, never an unbounded
 * `Type.String()` or `Type.Array()` (test/admin/limits.test.ts walks the OpenAPI document to check).
 * `Str`, `StrList` and `Int` are for outputs only.
 */
const nullable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
export const INT53_MAX = Number.MAX_SAFE_INTEGER;
export const INT53_MIN = -Number.MAX_SAFE_INTEGER;

function bounded(min: number, max: number, opts: IntegerOptions) {
  return Type.Integer({
    ...opts,
    minimum: Math.max(min, opts.minimum ?? min),
    maximum: Math.min(max, opts.maximum ?? max),
  });
}

/** A Java int, optionally narrowed (`int32({minimum: 0})`). */
export const int32 = (opts: IntegerOptions = {}) => bounded(INT32_MIN, INT32_MAX, opts);
/** A Java long that JavaScript reads exactly, optionally narrowed. */
export const int53 = (opts: IntegerOptions = {}) => bounded(INT53_MIN, INT53_MAX, opts);

export const Int32 = int32();
export const Int53 = int53();
export const OptInt32 = nullable(Int32);
export const OptInt53 = nullable(Int53);
/** Optional, absent or null, Java int narrowed to a range. */
export const optInt32 = (opts: IntegerOptions = {}) => nullable(int32(opts));
/** Optional, absent or null, Java long narrowed to a range. */
export const optInt53 = (opts: IntegerOptions = {}) => nullable(int53(opts));

/** Output strings and lists (values we produced; inputs use the bounded ones below). */
export const Str = Type.String();
export const StrList = Type.Array(Type.String());
/** Output integers (values we produced; inputs use Int32/Int53). */
export const Int = Type.Integer();
/** An optional integer JavaScript reads exactly; prefer OptInt32 for a Java int field. */
export const OptInt = OptInt53;

/** An id (user, client, group, channel, member, target), required and non-empty. */
export const Id = Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH });
/** An optional id: absent, null or a string ("" where the route gives it a meaning). */
export const OptId = nullable(Type.String({ maxLength: MAX_ID_LENGTH }));
/** A name or another short text, required and non-empty. */
export const Text = Type.String({ minLength: 1, maxLength: MAX_TEXT_LENGTH });
export const OptText = nullable(Type.String({ maxLength: MAX_TEXT_LENGTH }));
export const OptUrl = nullable(Type.String({ maxLength: MAX_URL_LENGTH }));
export const OptExtra = nullable(Type.String({ maxLength: MAX_EXTRA_LENGTH }));
export const OptContent = nullable(Type.String({ maxLength: MAX_CONTENT_LENGTH }));
/** A list of user ids (members, targets, receivers, toUsers): at most MAX_USER_LIST. */
export const IdList = Type.Array(Type.String({ maxLength: MAX_ID_LENGTH }), { maxItems: MAX_USER_LIST });
export const OptIdList = nullable(IdList);

/** A line (sub-channel) of a conversation: 0 … 2^31−1, as normalizeConversation checks. */
export const Line = int32({ minimum: 0 });
export const OptLine = nullable(Line);

export const MessageUid = Type.Union([int53({ minimum: 1 }), Type.String({ pattern: '^[0-9]{1,19}$', maxLength: 19 })], {
  description: 'Message uid: a JSON number below 2^53 (every uid Switchboard issues is), or a decimal string of a Java long.',
});

export const ConversationIn = Type.Object(
  {
    type: int32({ description: '0 single, 1 group, 2 chatroom, 3 channel' }),
    target: Id,
    line: OptLine,
  },
  { additionalProperties: true },
);

export const ConversationOut = Type.Object({ type: Int, target: Str, line: Int });

export const PayloadIn = Type.Object(
  {
    type: int32({ minimum: 0, description: 'Content type (1 text, 3 image, … ≥1000 custom); the only required field.' }),
    searchableContent: OptContent,
    pushContent: OptContent,
    pushData: OptContent,
    content: OptContent,
    base64edData: OptContent,
    mediaType: OptInt32,
    remoteMediaUrl: OptUrl,
    persistFlag: optInt32({ description: '0 not persisted by clients, 1 persist, 3 persist and count unread, 4 transparent' }),
    expireDuration: optInt32({ description: 'Seconds (a Java int in Wildfire); 0 never expires' }),
    mentionedType: OptInt32,
    mentionedTarget: OptIdList,
    extra: OptContent,
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
    userId: OptId,
    name: OptText,
    password: OptText,
    displayName: OptText,
    portrait: OptUrl,
    gender: OptInt32,
    mobile: OptText,
    email: OptText,
    address: OptText,
    company: OptText,
    social: OptText,
    extra: OptExtra,
    type: OptInt32,
    updateDt: OptInt53,
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
    target_id: OptId,
    name: OptText,
    portrait: OptUrl,
    owner: OptId,
    type: OptInt32,
    extra: OptExtra,
    mute: OptInt32,
    join_type: OptInt32,
    private_chat: OptInt32,
    searchable: OptInt32,
    history_message: OptInt32,
    max_member_count: OptInt32,
  },
  { additionalProperties: true },
);

export const GroupMemberIn = Type.Object(
  { member_id: Id, alias: OptText, type: OptInt32, extra: OptExtra },
  { additionalProperties: true },
);

export const GroupMemberOut = Type.Object({ member_id: Str, alias: Str, type: Int, extra: Str, createDt: Int });

/** Fields every group change accepts: who acts, and how the change is announced in the group. */
export const GroupBase = {
  operator: OptId,
  to_lines: nullable(Type.Array(Line, { maxItems: MAX_TO_LINES, description: `At most ${MAX_TO_LINES} lines` })),
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

/** Wildfire's OutputRobot: the robot's user profile (a user's, without its type) and its robot record, secret included. */
export const RobotOut = Type.Composite([Type.Omit(UserInfo, ['type']), Type.Object({ owner: Str, secret: Str, callback: Str, robotExtra: Str })]);
