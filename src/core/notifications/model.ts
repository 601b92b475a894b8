/**
 * The notification centre's domain (seed 004): a notification an operator composes and sends, each
 * recipient's inbox row with its read state, and each recipient's delivery status per channel.
 * Field names follow the seed where it has a wire shape (title, message_body, message_type,
 * send_method, send_to, use_web_when_miss, lng, has_send, send_at, date_created); the surface maps
 * them one to one.
 */

/**
 * How a notification reaches its recipients: `web` (an inbox row and a live push), `email`, `sms`
 * (the seed's "mobile short message"). Exactly one per notification, as in the seed.
 */
export const SEND_METHODS = ['web', 'email', 'sms'] as const;
export type SendMethod = (typeof SEND_METHODS)[number];

/** The accepted spellings of send_method: the three names, and `mobile` for sms (the seed's wording). */
export function parseSendMethod(s: string): SendMethod | null {
  if (s === 'web' || s === 'email' || s === 'sms') return s;
  if (s === 'mobile') return 'sms';
  return null;
}

/** The content in one more language. */
export interface Translation {
  title: string;
  body: string;
}

/**
 * Options of the delivery channels, kept with the notification as given (a JSON object): part B of
 * the notification centre (scheduling for later, escalation when unread) defines its fields here.
 * Core stores them and hands them to the NotificationChannelPlanner; it reads none of them itself.
 */
export type NotificationOptions = Record<string, unknown>;

/** What an operator sets (add, update). */
export interface NotificationFields {
  title: string;
  /** The seed's `body` on input, `message_body` on output. */
  body: string;
  messageType: string;
  sendMethod: SendMethod;
  /** Recipients (user ids), distinct; stored as rows, never inside the notification record. */
  sendTo: string[];
  /** When email or SMS cannot reach a recipient, the notification lands in the web inbox instead. */
  useWebWhenMiss: boolean;
  /** Language of title and body ("" unknown); `translations` holds the content in other languages. */
  lng: string;
  translations: Record<string, Translation>;
  options: NotificationOptions;
}

/** A stored notification (its recipients are read separately, paged: there may be 100 000). */
export interface Notification extends Omit<NotificationFields, 'sendTo'> {
  /** 24 lowercase hex digits (an object id, as the seed shows). */
  id: string;
  /** The operator who added it. */
  creator: string;
  hasSend: boolean;
  /** When it was sent (ms); null until then. */
  sendAt: number | null;
  dateCreated: number;
  updatedAt: number;
  /** Number of recipients (rows of its send_to). */
  recipientCount: number;
  /** Recipients whose inbox row is read (maintained with every read; see NotificationStore.recountRead). */
  readCount: number;
  /** Sent and every recipient handled (inbox row written, or channel jobs planned). */
  fanoutDone: boolean;
}

/** A recipient as the operator's views show it. */
export interface RecipientView {
  userId: string;
  /** The user's name, else its email, else its id (a user destroyed since). */
  username: string;
}

/** A recipient with what channels need to reach it (read in fan-out batches). */
export interface RecipientFacts {
  userId: string;
  /** False for a recipient destroyed since the notification was added: nothing is sent to it. */
  exists: boolean;
  name: string;
  email: string;
  mobile: string;
}

/** The content of a notification as inboxes and live pushes carry it. */
export interface NotificationContent {
  id: string;
  title: string;
  body: string;
  type: string;
  lng: string;
  translations: Record<string, Translation>;
}

/** One row of a user's inbox. */
export interface InboxItem extends NotificationContent {
  hasRead: boolean;
  /** When it reached the inbox's notification (its send time, ms). */
  sentAt: number;
}

export type DeliveryState = 'pending' | 'sent' | 'failed';

/** One recipient's delivery through one channel (email, sms), filled by the channels (part B). */
export interface DeliveryStatus {
  userId: string;
  channel: string;
  status: DeliveryState;
  /** Why it failed ("" otherwise). */
  error: string;
  updatedAt: number;
}

/** The username rule of the seed's views: name, else email, else the id. */
export function usernameOf(u: { userId: string; name?: string | undefined; email?: string | undefined }): string {
  return u.name || u.email || u.userId;
}

/**
 * The content in the recipient's language: the translation of `want` when there is one (exact tag,
 * then its primary subtag: "zh-CN" → "zh"), else the default (title/body in `lng`).
 */
export function localise(c: NotificationContent, want: string | undefined): { title: string; body: string; lng: string } {
  if (want) {
    const w = want.toLowerCase();
    if (w === c.lng.toLowerCase()) return { title: c.title, body: c.body, lng: c.lng };
    const keys = Object.keys(c.translations);
    const exact = keys.find((k) => k.toLowerCase() === w);
    const primary = w.split('-')[0]!;
    const key = exact ?? keys.find((k) => k.toLowerCase() === primary) ?? keys.find((k) => k.toLowerCase().split('-')[0] === primary);
    if (key) return { ...c.translations[key]!, lng: key };
  }
  return { title: c.title, body: c.body, lng: c.lng };
}

/** The content part of a notification. */
export function contentOf(n: Notification): NotificationContent {
  return { id: n.id, title: n.title, body: n.body, type: n.messageType, lng: n.lng, translations: n.translations };
}
