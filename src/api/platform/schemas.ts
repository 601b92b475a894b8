import { Type, type TSchema } from '@sinclair/typebox';
import { CONTENT_TYPES } from '../../core/channel-apps/model.js';
import { CHANNEL_CONFIG_KINDS } from '../../core/channel-apps/model.js';
import { MAX_CHANNEL_ATTRIBUTES, MAX_CHANNEL_CONTENTS, MAX_CONTENT_LENGTH, MAX_ID_LENGTH, MAX_TEXT_LENGTH, MAX_URL_LENGTH } from '../../core/limits.js';

/**
 * Seed 000's bodies (docs/channel-gateway.md, "Seed 000"), every string and list bounded
 * (core/limits.ts, docs/security.md). Optional fields also accept null. Unknown fields are allowed
 * and kept (in the message's `raw`), at most MAX_CHANNEL_ATTRIBUTES of them per object.
 */
const opt = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const S = (max: number) => Type.String({ maxLength: max });
/** Content types in either case (`text`, `Text`, `HtmlText`…): checked against CONTENT_TYPES case-insensitively by the route. */
const ContentTypeName = Type.String({ minLength: 1, maxLength: 32, description: `one of ${CONTENT_TYPES.join(', ')} (any case)` });
const Coordinate = Type.Union([S(64), Type.Number()]);

export const ContentIn = Type.Object(
  {
    id: opt(S(MAX_ID_LENGTH)),
    type: ContentTypeName,
    text: opt(S(MAX_CONTENT_LENGTH)),
    htmlText: opt(S(MAX_CONTENT_LENGTH)),
    name: opt(S(MAX_TEXT_LENGTH)),
    title: opt(S(MAX_TEXT_LENGTH)),
    mime: opt(S(MAX_ID_LENGTH)),
    previewUrl: opt(S(MAX_URL_LENGTH)),
    url: opt(S(MAX_URL_LENGTH)),
    latitude: opt(Coordinate),
    longitude: opt(Coordinate),
    scale: opt(Type.Union([S(64), Type.Number()])),
    desc: opt(S(MAX_TEXT_LENGTH)),
  },
  { maxProperties: MAX_CHANNEL_ATTRIBUTES },
);

export const ContactIdentityIn = Type.Object(
  {
    channelaccount: opt(S(MAX_TEXT_LENGTH)),
    account: opt(S(MAX_TEXT_LENGTH)),
    name: opt(S(MAX_TEXT_LENGTH)),
    avatarUrl: opt(S(MAX_URL_LENGTH)),
    originalContactInfoUrl: opt(S(MAX_URL_LENGTH)),
    originalContactPageUrl: opt(S(MAX_URL_LENGTH)),
    screenName: opt(S(MAX_TEXT_LENGTH)),
  },
  { maxProperties: MAX_CHANNEL_ATTRIBUTES },
);

export const MessageIn = Type.Object(
  {
    channelId: Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }),
    originalParentId: opt(S(MAX_TEXT_LENGTH)),
    originalConversationId: opt(S(MAX_TEXT_LENGTH)),
    originalMessageId: opt(S(MAX_TEXT_LENGTH)),
    originalUrl: opt(S(MAX_URL_LENGTH)),
    subject: opt(S(MAX_URL_LENGTH)),
    cc: opt(S(MAX_URL_LENGTH)),
    contents: opt(Type.Array(ContentIn, { maxItems: MAX_CHANNEL_CONTENTS })),
  },
  { maxProperties: MAX_CHANNEL_ATTRIBUTES },
);

export const PostMessageIn = Type.Object(
  {
    channelAccountId: Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH }),
    isReceive: opt(Type.Boolean()),
    createTime: opt(Type.Union([S(64), Type.Number()])),
    channelAppContactIdentity: ContactIdentityIn,
    message: MessageIn,
  },
  { maxProperties: MAX_CHANNEL_ATTRIBUTES },
);

export const GuidOut = Type.Object({ guid: Type.String() });

export const CachesIn = Type.Object(
  {
    cacheItem: Type.String({ minLength: 1, maxLength: 64, description: `one of ${CHANNEL_CONFIG_KINDS.join(', ')}` }),
    actionType: opt(S(64)),
  },
  { maxProperties: MAX_CHANNEL_ATTRIBUTES },
);
