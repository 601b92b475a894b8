import { CoreError, invalid, notExist } from '../errors.js';
import type { HubEvent, InboxChange } from '../events.js';
import {
  MAX_ID_LENGTH,
  MAX_NOTIFY_BODY,
  MAX_NOTIFY_LABEL,
  MAX_NOTIFY_RECIPIENTS,
  MAX_NOTIFY_TITLE,
  MAX_NOTIFY_TRANSLATIONS,
} from '../limits.js';
import { publishAll, type Bus } from '../ports/bus.js';
import type { NotificationStore, Page, RecipientFilter } from '../ports/notifications.js';
import { NotificationFanout } from './fanout.js';
import { newNotificationId } from './ids.js';
import {
  contentOf,
  type DeliveryState,
  type DeliveryStatus,
  type InboxItem,
  type Notification,
  type NotificationFields,
  type NotificationOptions,
  type RecipientView,
} from './model.js';
import { NO_CHANNELS, type NotificationChannelPlanner } from './planner.js';

export interface NotificationServiceOptions {
  /** Recipients per fan-out batch (one writer transaction each). */
  fanoutBatch: number;
  /** The email/SMS seam (part B); default: no channels (every recipient fails, web fallback applies). */
  planner?: NotificationChannelPlanner;
  /**
   * Asked by send() before marking sent (part B's scheduling): true when it wrote a durable timer that
   * sends the notification later (sendScheduled), so nothing is sent now.
   */
  schedule?: (n: Notification) => Promise<boolean>;
  /** Checks and normalises the options given on add and update (part B's delivery fields); throws invalid_parameter. */
  checkOptions?: (options: NotificationOptions, now: number) => NotificationOptions;
  now?: () => number;
  /** Failures of background fan-outs (they are resumed at the next start). */
  onError?: (err: unknown) => void;
}

/**
 * A live inbox event for the sockets of this node (see subscribe): a push, a change, or a revocation
 * of a user's tokens (destroyed, blocked, kicked off: its sockets of that client, or all, must close).
 */
export type InboxEvent = Extract<HubEvent, { type: 'notify.push' } | { type: 'notify.change' } | { type: 'session.revoke' }>;

/**
 * The notification centre's use cases (seed 004). Operators compose, change, delete, list and send
 * notifications; users list, read and delete the rows of their own inbox. `send` marks the
 * notification sent and returns at once: its fan-out runs in the background in batches (one short
 * writer transaction each, so other requests are never stalled), each batch announced on the bus as it
 * commits (`notify.push`) so online recipients get it within the batch's commit. A fan-out interrupted
 * by a stop is resumed by `resume()` at the next start.
 */
export class NotificationService {
  private readonly now: () => number;
  private readonly fanout: NotificationFanout;
  private readonly planner: NotificationChannelPlanner;
  private readonly schedule: ((n: Notification) => Promise<boolean>) | undefined;
  private readonly checkOptions: (options: NotificationOptions, now: number) => NotificationOptions;

  constructor(
    private readonly store: NotificationStore,
    private readonly bus: Bus,
    opts: NotificationServiceOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.schedule = opts.schedule;
    this.checkOptions = opts.checkOptions ?? ((o) => o);
    this.planner = opts.planner ?? NO_CHANNELS;
    this.fanout = new NotificationFanout(store, bus, this.planner, opts.fanoutBatch, opts.onError ?? (() => undefined));
  }

  // ------------------------------------------------------------- operators

  async add(creator: string, f: NotificationFields): Promise<Notification> {
    const fields = checkFields(f);
    fields.options = this.checkOptions(fields.options, this.now());
    return this.store.create({ ...fields, id: newNotificationId(this.now()), creator, dateCreated: this.now() });
  }

  /** Change a notification not sent yet (no_right once sent). */
  async update(id: string, f: Partial<NotificationFields>): Promise<Notification> {
    const fields = checkPartial(f);
    if (fields.options !== undefined) fields.options = this.checkOptions(fields.options, this.now());
    return this.store.update(id, fields, this.now());
  }

  /** Delete a notification, sent or not: it leaves every inbox, live. */
  async remove(id: string): Promise<void> {
    const { users } = await this.store.remove(id);
    if (users.length > 0) await this.bus.publish({ type: 'notify.change', users, change: 'delete', ids: [id] });
  }

  async get(id: string): Promise<Notification> {
    const n = await this.store.get(id);
    if (!n) throw notExist('notification does not exist');
    return n;
  }

  list(offset: number, limit: number): Promise<Page<Notification>> {
    return this.store.list(offset, limit);
  }

  recipients(id: string, filter: RecipientFilter, offset: number, limit: number): Promise<Page<RecipientView>> {
    return this.store.recipients(id, filter, offset, limit);
  }

  deliveries(id: string, offset: number, limit: number): Promise<Page<DeliveryStatus>> {
    return this.store.deliveries(id, offset, limit);
  }

  /**
   * Send now: answered once it is recorded as sent (durable); inbox rows, live pushes and channel jobs
   * follow in the background. A notification is sent once (no_right after).
   */
  async send(id: string): Promise<Notification> {
    const draft = await this.get(id);
    if (draft.hasSend) throw new CoreError('no_right', 'the notification was sent already');
    if (this.schedule && (await this.schedule(draft))) return draft;
    return this.markSent(draft);
  }

  /**
   * A scheduled send is due (part B's timer): send now unless the notification was modified since it
   * was scheduled (`updatedAt` differs: no_right), sent already (no_right) or deleted (not_exist).
   */
  async sendScheduled(id: string, updatedAt: number): Promise<Notification> {
    const draft = await this.get(id);
    if (draft.updatedAt !== updatedAt) throw new CoreError('no_right', 'the notification was modified since it was scheduled');
    return this.markSent(draft);
  }

  /**
   * Mark the draft sent, with the planner's jobs of a send (escalation timer) in the same write,
   * fenced by the draft's updatedAt (a change in between: no_right), then start its fan-out.
   */
  private async markSent(draft: Notification): Promise<Notification> {
    const now = this.now();
    const jobs = this.planner.sentJobs?.({ ...draft, hasSend: true, sendAt: now }) ?? [];
    const n = await this.store.markSent(draft.id, now, draft.updatedAt, jobs);
    this.fanout.start(n.id);
    return n;
  }

  /** Resume the fan-outs a stop interrupted (at start-up). */
  async resume(): Promise<void> {
    for (const id of await this.store.unfinished()) this.fanout.start(id);
  }

  /** Resolves when no fan-out runs on this node (tests, benchmarks, shutdown). */
  idle(): Promise<void> {
    return this.fanout.idle();
  }

  /** Stop starting batches (the running ones finish; the rest resumes at the next start). */
  close(): Promise<void> {
    return this.fanout.close();
  }

  // ------------------------------------------------------------- channels (part B)

  /** Record a recipient's delivery status on a channel (from the channel's OnSettled hook). */
  recordDelivery(id: string, userId: string, channel: string, status: DeliveryState, error: string): Promise<void> {
    return this.store.setDelivery(id, userId, channel, status, error, this.now());
  }

  /** Put a sent notification into these recipients' web inboxes now (fallback, escalation), live. */
  async deliverToInbox(id: string, userIds: string[]): Promise<string[]> {
    const inserted = await this.store.addToInbox(id, userIds);
    if (inserted.length > 0) {
      const n = await this.store.get(id);
      if (n) await this.bus.publish({ type: 'notify.push', users: inserted, item: contentOf(n) });
    }
    return inserted;
  }

  // ------------------------------------------------------------- a user's inbox

  inbox(userId: string, offset: number, limit: number, unreadOnly = false): Promise<Page<InboxItem> & { unread: number }> {
    return this.store.inbox(userId, offset, limit, unreadOnly);
  }

  unreadCount(userId: string): Promise<number> {
    return this.store.unreadCount(userId);
  }

  /** Mark one of the user's rows read (not_exist when it has none with that id); its other sockets learn it live. */
  async readOne(userId: string, id: string): Promise<void> {
    if (await this.store.readOne(userId, id)) await this.changed(userId, 'read', [id]);
  }

  async readAll(userId: string): Promise<void> {
    const ids = await this.store.readAll(userId);
    if (ids.length > 0) await this.changed(userId, 'read_all', ids);
  }

  async deleteOne(userId: string, id: string): Promise<void> {
    await this.store.deleteOne(userId, id);
    await this.changed(userId, 'delete', [id]);
  }

  async deleteAll(userId: string): Promise<void> {
    if ((await this.store.deleteAll(userId)) > 0) await this.changed(userId, 'delete_all', []);
  }

  /** Announce a user's own change with its unread count after it (read from the rows: never drifts). */
  private async changed(userId: string, change: InboxChange, ids: string[]): Promise<void> {
    const unread = await this.store.unreadCount(userId);
    // read_all can name thousands of ids: the unread count (0 after it) says it all.
    await publishAll(this.bus, [{ type: 'notify.change', users: [userId], change, ids: change === 'read_all' ? [] : ids, unread }]);
  }

  /** Live inbox events reaching this node (pushes, changes, token revocations), for its sockets. */
  subscribe(handler: (e: InboxEvent) => void): () => void {
    return this.bus.subscribe((e) => {
      if (e.type === 'notify.push' || e.type === 'notify.change' || e.type === 'session.revoke') handler(e);
    });
  }
}

function checkText(what: string, s: unknown, max: number): string {
  if (typeof s !== 'string') throw invalid(`${what} must be a string`);
  if (s.length > max) throw invalid(`${what} is longer than ${max} characters`);
  return s;
}

/** Every field of an add, checked against its bound (the surface's schema checks them first). */
function checkFields(f: NotificationFields): NotificationFields {
  const p = checkPartial(f);
  if (p.title === undefined || p.title.trim() === '') throw invalid('title must not be empty');
  if (p.sendTo === undefined || p.sendTo.length === 0) throw invalid('send_to must name at least one user');
  return { ...f, ...p } as NotificationFields;
}

function checkPartial(f: Partial<NotificationFields>): Partial<NotificationFields> {
  const out: Partial<NotificationFields> = { ...f };
  if (f.title !== undefined) {
    checkText('title', f.title, MAX_NOTIFY_TITLE);
    if (f.title.trim() === '') throw invalid('title must not be empty');
  }
  if (f.body !== undefined) checkText('body', f.body, MAX_NOTIFY_BODY);
  if (f.messageType !== undefined) checkText('message_type', f.messageType, MAX_NOTIFY_LABEL);
  if (f.lng !== undefined) checkText('lng', f.lng, MAX_NOTIFY_LABEL);
  if (f.translations !== undefined) {
    const langs = Object.keys(f.translations);
    if (langs.length > MAX_NOTIFY_TRANSLATIONS) throw invalid(`at most ${MAX_NOTIFY_TRANSLATIONS} translations`);
    for (const l of langs) {
      checkText('a translation language', l, MAX_NOTIFY_LABEL);
      if (l === '') throw invalid('a translation language must not be empty');
      const t = f.translations[l]!;
      checkText(`translations.${l}.title`, t.title, MAX_NOTIFY_TITLE);
      checkText(`translations.${l}.body`, t.body, MAX_NOTIFY_BODY);
    }
  }
  if (f.sendTo !== undefined) {
    if (f.sendTo.length > MAX_NOTIFY_RECIPIENTS) throw invalid(`send_to names more than ${MAX_NOTIFY_RECIPIENTS} users`);
    for (const u of f.sendTo) {
      if (typeof u !== 'string' || u === '' || u.length > MAX_ID_LENGTH) throw new CoreError('invalid_parameter', `send_to ids must be 1..${MAX_ID_LENGTH} characters`);
    }
    out.sendTo = [...new Set(f.sendTo)];
    if (out.sendTo.length === 0) throw invalid('send_to must name at least one user');
  }
  return out;
}
