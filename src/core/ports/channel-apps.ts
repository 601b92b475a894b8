import type {
  ChannelConfigKind,
  ChannelConfigRecords,
  ChannelContact,
  ChannelConversation,
  ChannelMessage,
  DeliveryUpdate,
} from '../channel-apps/model.js';

/**
 * A reply's channel metadata, recorded with the outbox job that sends it (EffectSpec.records): written
 * in the transaction that creates the job, exactly as recordMessage would (idempotent by uid and by
 * original id; the conversation becomes the contact's latest), and rolled back with it. So the app is
 * never told a guid the platform cannot find, and no attempt has to record it first.
 */
export interface ChannelMessageRecord {
  kind: 'channel.message';
  message: ChannelMessage;
}

/**
 * A reply's delivery change, written with its job's final outcome (SettleReaction.records): applied in
 * the outcome's transaction, only if the outcome is applied (the outbox's fence), exactly as
 * updateDelivery would (its `onlyFrom` compare-and-set included), except that an unknown guid writes
 * nothing and fails nothing (the outcome stands).
 */
export interface ChannelDeliveryRecord {
  kind: 'channel.delivery';
  guid: string;
  update: DeliveryUpdate;
  updatedAt: number;
}

/**
 * Durable state of the channel gateway (the store's `channelApps` part). Same contract as the Store
 * (ports/store.ts): every method async, a resolved write durable, each write one atomic command whose
 * checks run inside its transaction, failures as CoreErrors leaving no trace. Checked on every SQLite
 * flavour by test/contract/channel-apps.contract.ts. The outbox applies ChannelMessageRecord (with a
 * job) and ChannelDeliveryRecord (with a final outcome) inside its own writes, as documented above.
 *
 * The store persists what core decided: ids, derived IM ids and timestamps come from core.
 */
export interface ChannelAppStore {
  // ------------------------------------------------------------ configuration records
  /**
   * Create or replace a record (replacing keeps the stored createDt). Its parent (`configParent`: what
   * it hangs on) is kept beside it for listConfig's filter and deleteConfig's check.
   */
  putConfig<K extends ChannelConfigKind>(kind: K, id: string, record: ChannelConfigRecords[K]): Promise<ChannelConfigRecords[K]>;
  /**
   * Overwrite the given top-level fields of an existing record (shallow merge, `updateDt` as given),
   * in one transaction. Throws not_exist for an unknown one.
   */
  patchConfig<K extends ChannelConfigKind>(kind: K, id: string, patch: Partial<ChannelConfigRecords[K]>): Promise<ChannelConfigRecords[K]>;
  getConfig<K extends ChannelConfigKind>(kind: K, id: string): Promise<ChannelConfigRecords[K] | null>;
  /** Records of a kind in creation order (oldest first), optionally only those with this parent. */
  listConfig<K extends ChannelConfigKind>(kind: K, parent?: string): Promise<Array<ChannelConfigRecords[K]>>;
  /**
   * Delete a record; false when there was none. Throws no_right when another record names it as its
   * parent (an app with versions, channels or accounts; a version with version-channels).
   */
  deleteConfig(kind: ChannelConfigKind, id: string): Promise<boolean>;

  // ------------------------------------------------------------ contacts
  /**
   * Create the contact, or update an existing one (same contactId): non-empty texts overwrite, given
   * attributes are merged; createDt is kept. Throws invalid_parameter when (channelAccountId,
   * account) belongs to another contactId.
   */
  upsertContact(contact: ChannelContact): Promise<ChannelContact>;
  /** Overwrite every field given (empty strings included); not_exist for an unknown contact. */
  replaceContact(contactId: string, fields: Partial<Omit<ChannelContact, 'contactId' | 'channelAccountId' | 'account' | 'createDt'>>): Promise<ChannelContact>;
  getContact(contactId: string): Promise<ChannelContact | null>;
  findContact(channelAccountId: string, account: string): Promise<ChannelContact | null>;
  /** Contacts of an account ordered by contactId, after `after` (exclusive), at most `limit`. */
  listContacts(channelAccountId: string, after: string, limit: number): Promise<ChannelContact[]>;
  deleteContact(contactId: string): Promise<boolean>;

  // ------------------------------------------------------------ conversations
  /** Insert the conversation unless its id exists; returns the stored one either way. */
  openConversation(conv: ChannelConversation): Promise<ChannelConversation>;
  getConversation(conversationId: string): Promise<ChannelConversation | null>;
  /** The conversation of an account with this originalConversationId (non-empty). */
  conversationByOriginal(channelAccountId: string, originalConversationId: string): Promise<ChannelConversation | null>;
  /** The contact's most recently updated conversation, or null. */
  latestConversation(contactId: string): Promise<ChannelConversation | null>;
  /** Record the synchronised agents and bump updateDt. not_exist for an unknown conversation. */
  touchConversation(conversationId: string, updateDt: number, agents?: string[]): Promise<void>;

  // ------------------------------------------------------------ messages
  /**
   * Record a message's metadata. Idempotent: when a message with the same uid, or the same
   * (channelAccountId, originalMessageId) with a non-empty originalMessageId, is recorded already,
   * nothing changes and the stored one is returned. A new message makes its conversation the
   * contact's latest (latestConversation orders by the last message's createdAt).
   */
  recordMessage(m: ChannelMessage): Promise<ChannelMessage>;
  messageByUid(uid: number): Promise<ChannelMessage | null>;
  messageByGuid(guid: string): Promise<ChannelMessage | null>;
  messageByOriginal(channelAccountId: string, originalMessageId: string): Promise<ChannelMessage | null>;
  /**
   * Apply a delivery change (part B): status and error always, the other fields when given; `urls`
   * replace the url of the contents with those ids. `updatedAt` as given. not_exist for an unknown guid.
   */
  updateDelivery(guid: string, update: DeliveryUpdate, updatedAt: number): Promise<ChannelMessage>;
}
