import type { Attributes, ChannelContent } from './model.js';

/** A parent message (seed 000 originalParentId) not stored yet: the app must send the parent first (000: Code 1200002). */
export class ParentMissingError extends Error {
  constructor(readonly originalParentId: string) {
    super(`parent message ${originalParentId} does not exist`);
    this.name = 'ParentMissingError';
  }
}

/** The contact identity of an inbound message (seed 000 channelAppContactIdentity; seed 002 FromUserId/FromUserName). */
export interface ContactIdentity {
  /** The contact's id on the channel (`channelaccount` / `account`; 002 `FromUserId`). */
  account: string;
  name?: string | undefined;
  avatarUrl?: string | undefined;
  originalContactInfoUrl?: string | undefined;
  originalContactPageUrl?: string | undefined;
  screenName?: string | undefined;
  /** Any other field of the identity. */
  attributes?: Attributes | undefined;
}

/** A seed 000 `POST conversations/messages`, validated by the surface. */
export interface Inbound000 {
  channelAccountId: string;
  /** false: the business sent it on the channel itself (stored as the account's, never sent out). */
  isReceive: boolean;
  /** The app's createTime in ms (0: none). */
  createTime: number;
  contact: ContactIdentity;
  channelId: string;
  originalParentId: string;
  originalConversationId: string;
  originalMessageId: string;
  originalUrl: string;
  subject: string;
  cc: string;
  contents: ChannelContent[];
  /** Every other field of the body and of its `message`, kept as sent. */
  raw: Attributes;
}

/** What the seed 002 routes received (body fields by their seed names), validated by the surface. */
export interface Inbound002 {
  appId: string;
  /** staffService/message, leavemessage, staffService/demand. */
  route: 'message' | 'leavemessage' | 'demand';
  fromUserId: string;
  fromUserName: string;
  serviceId: string;
  msgType: string;
  content: string;
  /** The account written to (`accname`); '' for the app's default account. */
  accname: string;
  /** The whole body as sent (Tag, unknown fields…). */
  raw: Attributes;
}

/** The answer to an inbound message. */
export interface InboundResult {
  guid: string;
  uid: number;
  conversationId: string;
  contactId: string;
  /** A retry of a message stored already (seed 000: same channelAccountId and originalMessageId). */
  duplicate: boolean;
}
