import type { InboxItem, Notification, SendMethod, Translation } from '../../core/notifications/model.js';

/** The notification tables' row shapes and mappers, shared by every SQL store. */

/** Inbox row state bits. */
export const READ = 1;
export const DELETED = 2;

export interface NotificationRow {
  n: number;
  id: string;
  creator: string;
  title: string;
  body: string;
  message_type: string;
  send_method: string;
  use_web_when_miss: number;
  lng: string;
  translations: string;
  options: string;
  recipient_count: number;
  read_count: number;
  has_send: number;
  send_at: number | null;
  send_seq: number | null;
  fanout_cursor: string;
  fanout_done: number;
  date_created: number;
  updated_at: number;
}

export function toNotification(r: NotificationRow): Notification {
  return {
    id: r.id,
    creator: r.creator,
    title: r.title,
    body: r.body,
    messageType: r.message_type,
    sendMethod: r.send_method as SendMethod,
    useWebWhenMiss: r.use_web_when_miss === 1,
    lng: r.lng,
    translations: JSON.parse(r.translations) as Record<string, Translation>,
    options: JSON.parse(r.options) as Record<string, unknown>,
    recipientCount: r.recipient_count,
    readCount: r.read_count,
    hasSend: r.has_send === 1,
    sendAt: r.send_at,
    dateCreated: r.date_created,
    updatedAt: r.updated_at,
    fanoutDone: r.fanout_done === 1,
  };
}

export interface ItemRow {
  state: number;
  id: string;
  title: string;
  body: string;
  message_type: string;
  lng: string;
  translations: string;
  send_at: number;
}

export function toItem(r: ItemRow): InboxItem {
  return {
    id: r.id,
    title: r.title,
    body: r.body,
    type: r.message_type,
    lng: r.lng,
    translations: JSON.parse(r.translations) as Record<string, Translation>,
    hasRead: (r.state & READ) !== 0,
    sentAt: r.send_at,
  };
}
