import type { ChannelAccount, ChannelContent, ChannelMessage, DeliveryStatus, DeliveryUpdate } from '../channel-apps/model.js';
import { mergedDelivery } from '../channel-apps/delivery-status.js';
import { CoreError, invalid, notExist } from '../errors.js';
import type { AgentNotice } from '../events.js';
import { ConvType } from '../model.js';
import type { Bus } from '../ports/bus.js';
import type { FinalOutcome, OnSettled, OutboxJob } from '../ports/outbox.js';
import type { Store } from '../ports/store.js';
import type { MessageService } from './messages.js';

/** The outbox channel of replies to channel apps. */
export const CHANNEL_APP_CHANNEL = 'channel-app';

/**
 * What the outbound job of a reply says about it besides its body (job.meta, written by the planner,
 * src/channel-apps/planner.ts): enough to record the message's channel metadata before the app first
 * sees it, and to find it again.
 */
export interface OutboundMeta {
  idempotencyKey: string;
  uid: string;
  guid: string;
  conversationId: string;
  channelAccountId: string;
  contactId: string;
  channelId: string;
  /** JSON of the ChannelContent[] sent. */
  contents: string;
  /** '1' when the job was created with the reply's ChannelMessageRecord (no attempt needs to record it). */
  recorded?: string;
}

/** A send result as the app reports it (seed 000 `PUT …/messages/{id}`, either revision, normalised). */
export interface SendResultInput {
  success: boolean;
  errorMessage?: string;
  originalMessageId?: string;
  originalMessageUrl?: string;
  /** Re-hosted files by content id: the app's URLs replace ours. */
  urls?: Array<{ id: string; url: string }>;
}

/** The delivery of one reply, as the admin API shows it. */
export interface DeliveryView {
  messageUid: number;
  guid: string;
  conversationId: string;
  channelAccountId: string;
  status: DeliveryStatus;
  error: string;
  originalMessageId: string;
  originalMessageUrl: string;
  contents: ChannelContent[];
  /** The outbox job(s) of the reply (normally one), newest attempt state. */
  jobs: Array<{ id: number; status: string; attempts: number; lastError: string; nextAt: number; deliveredAt: number }>;
  updatedAt: number;
}

/** Status updates from outbox outcomes in flight at once (background, see ChannelDeliveryService.later). */
const BACKGROUND_CONCURRENCY = 256;

/** Reply uids remembered as recorded, at most. */
const RECORDED_MAX = 100_000;

/** Guids whose send result this node applied, remembered at most (see ChannelDeliveryService.settled). */
const RESULTED_MAX = 10_000;

/**
 * The channel metadata of an agent's reply as first recorded (direction out, status pending): by the
 * planner with the reply's job (ChannelMessageRecord), or, for a job without one, before its first attempt.
 */
export function outboundRecord(m: OutboundMeta, job: { appId: string; kind: string; createTime: number }, at: number): ChannelMessage {
  let contents: ChannelContent[] = [];
  try {
    contents = JSON.parse(m.contents) as ChannelContent[];
  } catch {
    contents = [];
  }
  return {
    uid: Number(m.uid),
    guid: m.guid,
    conversationId: m.conversationId,
    channelAccountId: m.channelAccountId,
    contactId: m.contactId,
    direction: 'out',
    isReceive: false,
    channelId: m.channelId,
    originalMessageId: '',
    originalParentId: '',
    originalConversationId: '',
    originalUrl: '',
    subject: '',
    cc: '',
    contents,
    createTime: job.createTime,
    raw: { appId: job.appId, protocol: job.kind },
    delivery: 'pending',
    deliveryError: '',
    originalMessageUrl: '',
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * The status change a dead job's outcome writes into the record: failed with its error, only from none
 * or pending (an app may report a send result, even a failed one, before answering our post). A
 * delivered job writes nothing: its `sent` lives in the job (see mergedDelivery).
 */
function failedOf(outcome: Extract<FinalOutcome, { status: 'dead' }>): DeliveryUpdate {
  return { delivery: 'failed', deliveryError: outcome.error.slice(0, 1000), onlyFrom: ['none', 'pending'] };
}

/** What a live `channel_delivery` notice says about a reply. */
type NoticeFields = Pick<ChannelMessage, 'uid' | 'guid' | 'conversationId' | 'channelAccountId' | 'delivery' | 'deliveryError' | 'originalMessageId' | 'originalMessageUrl'>;

function metaOf(job: Pick<OutboxJob, 'meta'>): OutboundMeta | null {
  const m = job.meta as Partial<OutboundMeta>;
  if (!m.uid || !m.guid || !m.conversationId || !m.channelAccountId || !m.contactId) return null;
  return m as OutboundMeta;
}

/**
 * Delivery status of agents' replies sent through channel apps (pending → sent → delivered | failed),
 * kept in two places: the reply's outbox job (ref `msg:<uid>`: pending, `sent` once delivered, failed
 * once dead) and its channel metadata (ChannelAppStore: `pending` from creation, `failed` written with
 * a dead job's outcome, the app's send results). A delivered job does not rewrite the record (one
 * write less per reply): every read that shows the status merges the two (`mergedDelivery`: view(),
 * message()), and the live notice of a delivered job is built from the job's meta. Announced live to
 * the account's agents (`agent.notice` → device frame `channel_delivery`).
 */
export class ChannelDeliveryService {
  /** Status updates from outbox outcomes, run in the background (see onSettled). */
  private readonly background: Array<() => Promise<void>> = [];
  /** Replies whose metadata is known to be recorded (see ensureRecorded). */
  private readonly recorded = new Set<number>();
  /** Guids whose send result this node applied (bounded, oldest forgotten first; see settled). */
  private readonly resulted = new Set<string>();
  private running = 0;
  private onError: (err: unknown) => void = () => undefined;
  /** Configuration records (the channel-app service's per-node cache; the store by default). */
  private records: (kind: 'channelAccount', id: string) => Promise<ChannelAccount | null>;

  constructor(
    private readonly store: Pick<Store, 'channelApps' | 'outbox'>,
    private readonly bus: Bus,
    private readonly messages: Pick<MessageService, 'get' | 'update'>,
    private readonly now: () => number = Date.now,
  ) {
    this.records = (kind, id) => store.channelApps.getConfig(kind, id);
  }

  /** Read configuration records through this (a cache), and report background failures here. */
  use(opts: { records?: (kind: 'channelAccount', id: string) => Promise<ChannelAccount | null>; onError?: (err: unknown) => void }): void {
    if (opts.records) this.records = opts.records;
    if (opts.onError) this.onError = opts.onError;
  }

  /**
   * Run `fn` in the background, at most BACKGROUND_CONCURRENCY at once: updates queued in one turn are
   * submitted together, so the store commits them in one group. Failures are reported, never thrown.
   */
  private later(fn: () => Promise<void>): void {
    this.background.push(fn);
    this.pump();
  }

  private pump(): void {
    while (this.running < BACKGROUND_CONCURRENCY && this.background.length > 0) {
      const fn = this.background.shift()!;
      this.running++;
      fn()
        .catch((err: unknown) => this.onError(err))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  /**
   * Record the reply's channel metadata (direction out, status pending) unless it is recorded already;
   * the Sender calls it before every attempt, so the app never learns a guid the platform cannot find.
   */
  async ensureRecorded(job: OutboxJob): Promise<void> {
    const m = metaOf(job);
    if (!m) return;
    // Recorded with the job (ChannelMessageRecord), or already seen recorded by this node: nothing to do.
    if (m.recorded === '1') return;
    const uid = Number(m.uid);
    // Recorded already (seen by this node): nothing to do. Else a read first: an attempt after the
    // first finds it (no write, no fsync to wait for).
    if (this.recorded.has(uid)) return;
    if (await this.store.channelApps.messageByUid(uid)) {
      this.remember(uid);
      return;
    }
    const rec = outboundRecord(m, { appId: job.target, kind: job.kind, createTime: job.createdAt }, this.now());
    await this.store.channelApps.recordMessage(rec);
    this.remember(uid);
  }

  /** Uids known to be recorded (bounded: the oldest are forgotten first, and read again if needed). */
  private remember(uid: number): void {
    this.recorded.add(uid);
    if (this.recorded.size > RECORDED_MAX) this.recorded.delete(this.recorded.values().next().value!);
  }

  /**
   * The OnSettled hook of channel `channel-app` (register it with the outbox settler). A dead job's
   * status change (failed with its error) is a ChannelDeliveryRecord written in the outcome's own
   * transaction (`react`); a delivered job's `sent` is the job's own status and writes nothing. After
   * the commit the agents' live notice runs in the background, off the dispatcher's settle loop:
   * delivered → `sent` built from the job's meta (no read), dead → the record read as it stands (so a
   * send result that came first is what they see).
   */
  readonly onSettled: OnSettled = {
    react: (job, outcome) => {
      if (outcome.status === 'delivered') return undefined;
      const m = metaOf(job);
      return m ? { records: [{ kind: 'channel.delivery', guid: m.guid, update: failedOf(outcome), updatedAt: this.now() }] } : undefined;
    },
    settled: (job, outcome) => this.later(() => this.settled(job, outcome)),
    // Awaited (an admin's redelivery is rare): the record is pending again before the revived job is
    // normally claimed, so its delivered outcome can move it on to sent.
    redelivered: (job) => this.redelivered(job),
  };

  private async settled(job: OutboxJob, outcome: FinalOutcome): Promise<void> {
    const m = metaOf(job);
    if (!m) return;
    if (outcome.status === 'delivered') {
      // A send result this node applied came before the app's HTTP answer: agents saw `delivered` or
      // `failed` already, and `sent` would take it back on their screens. (A send result taken by
      // another node is not known here: clients keep the further status, docs/client-protocol.md.)
      if (this.resulted.has(m.guid)) return;
      const uid = Number(m.uid);
      await this.announce({ uid, guid: m.guid, conversationId: m.conversationId, channelAccountId: m.channelAccountId, delivery: 'sent', deliveryError: '', originalMessageId: '', originalMessageUrl: '' });
      return;
    }
    let rec = await this.store.channelApps.messageByGuid(m.guid);
    if (!rec) {
      // Dead before any attempt recorded it (a job created without its record, and the app was gone):
      // record it, then apply the outcome.
      await this.store.channelApps.recordMessage(outboundRecord(m, { appId: job.target, kind: job.kind, createTime: job.createdAt }, this.now()));
      rec = await this.store.channelApps.updateDelivery(m.guid, failedOf(outcome), this.now());
    }
    await this.announce(rec);
  }

  private async redelivered(job: OutboxJob): Promise<void> {
    const m = metaOf(job);
    if (!m || !(await this.store.channelApps.messageByUid(Number(m.uid)))) return;
    const rec = await this.store.channelApps.updateDelivery(m.guid, { delivery: 'pending', onlyFrom: ['none', 'failed'] }, this.now());
    await this.announce(rec);
  }

  /**
   * The app's send result for the reply `guid` (seed 000 `PUT …/messages/{id}`): delivered or failed,
   * with the message's id and URL on the channel; re-hosted media replace our URLs, in the channel
   * metadata and in the IM message (an update its devices receive). not_exist for an unknown guid or a
   * message that is not a reply sent through an app.
   */
  async sendResult(guid: string, r: SendResultInput): Promise<ChannelMessage> {
    const cur = await this.store.channelApps.messageByGuid(guid);
    if (!cur || cur.direction !== 'out' || cur.isReceive) throw notExist(`message ${guid} is not a message sent through a channel app`);
    const known = new Set(cur.contents.map((c) => c.id));
    for (const u of r.urls ?? []) if (!known.has(u.id)) throw invalid(`message ${guid} has no content ${u.id}`);
    const rec = await this.store.channelApps.updateDelivery(
      guid,
      {
        delivery: r.success ? 'delivered' : 'failed',
        deliveryError: r.success ? '' : (r.errorMessage ?? 'failed'),
        ...(r.originalMessageId !== undefined ? { originalMessageId: r.originalMessageId } : {}),
        ...(r.originalMessageUrl !== undefined ? { originalMessageUrl: r.originalMessageUrl } : {}),
        ...(r.urls && r.urls.length > 0 ? { urls: r.urls } : {}),
      },
      this.now(),
    );
    this.resulted.add(guid);
    if (this.resulted.size > RESULTED_MAX) this.resulted.delete(this.resulted.values().next().value!);
    const first = r.urls?.find((u) => u.id === cur.contents[0]?.id);
    if (first) await this.rehost(rec.uid, first.url);
    await this.announce(rec);
    return rec;
  }

  /** The IM message's media URL becomes the app's (an update every receiver gets). */
  private async rehost(uid: number, url: string): Promise<void> {
    let msg;
    try {
      msg = await this.messages.get(uid);
    } catch (err) {
      if (err instanceof CoreError && err.kind === 'not_exist') return;
      throw err;
    }
    if (!msg.payload.remoteMediaUrl || msg.payload.remoteMediaUrl === url) return;
    await this.messages.update(uid, { ...msg.payload, remoteMediaUrl: url }, true);
  }

  /** The reply's channel-app jobs (normally one), oldest first. */
  private async jobsOf(uid: number): Promise<OutboxJob[]> {
    return (await this.store.outbox.byRef(`msg:${uid}`, 20)).filter((j) => j.channel === CHANNEL_APP_CHANNEL);
  }

  /**
   * A channel message's metadata by guid or uid, as users see it (`/admin/channel_message/get`):
   * a reply's delivery status and error merged with its outbox job's (mergedDelivery). not_exist when
   * unknown.
   */
  async message(ref: { guid: string } | { uid: number }): Promise<ChannelMessage> {
    const rec = 'guid' in ref ? await this.store.channelApps.messageByGuid(ref.guid) : await this.store.channelApps.messageByUid(ref.uid);
    if (!rec) throw notExist('message does not exist');
    if (rec.direction !== 'out' || rec.isReceive || rec.delivery === 'none') return rec;
    const { status, error } = mergedDelivery(rec, await this.jobsOf(rec.uid));
    return status === rec.delivery && error === rec.deliveryError ? rec : { ...rec, delivery: status, deliveryError: error };
  }

  /** The delivery of a reply by its message uid: not_exist when it is not a reply sent through an app. */
  async view(uid: number): Promise<DeliveryView> {
    const [rec, mine] = await Promise.all([this.store.channelApps.messageByUid(uid), this.jobsOf(uid)]);
    if (mine.length === 0 && (!rec || rec.direction !== 'out' || rec.isReceive)) throw notExist(`message ${uid} was not sent through a channel app`);
    const job = mine[mine.length - 1];
    const meta = job ? metaOf(job) : null;
    const { status, error } = mergedDelivery(rec, mine);
    return {
      messageUid: uid,
      guid: rec?.guid ?? meta?.guid ?? '',
      conversationId: rec?.conversationId ?? meta?.conversationId ?? '',
      channelAccountId: rec?.channelAccountId ?? meta?.channelAccountId ?? '',
      status,
      error,
      originalMessageId: rec?.originalMessageId ?? '',
      originalMessageUrl: rec?.originalMessageUrl ?? '',
      contents: rec?.contents ?? [],
      jobs: mine.map((j) => ({ id: j.id, status: j.status, attempts: j.attempts, lastError: j.lastError, nextAt: j.nextAt, deliveredAt: j.deliveredAt })),
      updatedAt: rec?.updatedAt ?? job?.createdAt ?? 0,
    };
  }

  /** Tell the account's agents (the members of its conversations) the reply's status. */
  private async announce(rec: NoticeFields): Promise<void> {
    // The account's pool: every conversation of the account has these agents as members.
    const account = await this.records('channelAccount', rec.channelAccountId);
    const users = account?.agents ?? [];
    if (users.length === 0) return;
    const notice: AgentNotice = {
      type: 'channel_delivery',
      messageUid: rec.uid,
      conv: { type: ConvType.group, target: rec.conversationId, line: 0 },
      guid: rec.guid,
      status: rec.delivery,
      error: rec.deliveryError,
      originalMessageId: rec.originalMessageId,
      originalMessageUrl: rec.originalMessageUrl,
    };
    await this.bus.publish({ type: 'agent.notice', users, notice });
  }
}
