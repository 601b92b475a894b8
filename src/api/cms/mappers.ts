import { deliveryOptions, ESCALATE_AFTER } from '../../core/notify-channels/options.js';
import { localise, type InboxItem, type Notification, type NotificationContent, type RecipientView } from '../../core/notifications/model.js';
import type { Page } from '../../core/ports/notifications.js';

/**
 * ISO 8601 with the server's UTC offset, milliseconds included, as the seed writes times
 * ("2021-03-11T13:43:39.063+08:00"); "+00:00" on a server in UTC.
 */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000);
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local.toISOString().slice(0, 23)}${sign}${hh}:${mm}`;
}

export interface WireRecipient {
  id: string;
  username: string;
}

const wireRecipient = (r: RecipientView): WireRecipient => ({ id: r.userId, username: r.username });

/** The recipients views of one notification: the seed's three lists, each with its total. */
export interface RecipientPages {
  all: Page<RecipientView>;
  read: Page<RecipientView>;
  unread: Page<RecipientView>;
}

/** Our delivery fields (docs/notifications-delivery.md): schedule_at as the seed writes times, or null. */
function deliveryFields(n: Notification): Record<string, unknown> {
  const d = deliveryOptions(n.options);
  return {
    schedule_at: d.scheduleAt === null ? null : isoTime(d.scheduleAt),
    escalate_after_minutes: d.escalate ? n.options[ESCALATE_AFTER] : null,
    escalate_method: d.escalate ? d.escalate.method : null,
  };
}

/** An operator's list/detail item, the seed's fields first; totals tell how much the lists hold. */
export function wireNotification(n: Notification, r: RecipientPages): Record<string, unknown> {
  return {
    id: n.id,
    title: n.title,
    message_body: n.body,
    message_type: n.messageType,
    send_method: n.sendMethod,
    recipients: r.all.items.map(wireRecipient),
    has_read: r.read.items.map(wireRecipient),
    unread: r.unread.items.map(wireRecipient),
    has_send: n.hasSend,
    date_created: isoTime(n.dateCreated),
    send_at: n.sendAt === null ? null : isoTime(n.sendAt),
    use_web_when_miss: n.useWebWhenMiss,
    lng: n.lng,
    translations: n.translations,
    options: n.options,
    ...deliveryFields(n),
    recipients_total: r.all.total,
    has_read_total: r.read.total,
    unread_total: r.unread.total,
  };
}

/** The seed's inbox item `{body, has_read, id, title, type}`, in the language asked for. */
export function wireItem(c: NotificationContent, hasRead: boolean, lng: string | undefined): { body: string; has_read: boolean; id: string; title: string; type: string } {
  const l = localise(c, lng);
  return { body: l.body, has_read: hasRead, id: c.id, title: l.title, type: c.type };
}

export function wireInboxItem(i: InboxItem, lng: string | undefined): ReturnType<typeof wireItem> {
  return wireItem(i, i.hasRead, lng);
}
