import type { Bus } from '../core/ports/bus.js';
import type { SettingsStore } from '../core/ports/store.js';

/** Tencent IM callback commands Switchboard emits. "Before" ones run only where listed explicitly. */
export const AFTER_COMMANDS = [
  'C2C.CallbackAfterSendMsg',
  'Group.CallbackAfterSendMsg',
  'C2C.CallbackAfterMsgWithDraw',
  'C2C.CallbackAfterMsgReport',
  'State.StateChange',
  'Group.CallbackAfterNewMemberJoin',
  'Group.CallbackAfterMemberExit',
  'Group.CallbackAfterCreateGroup',
  'Group.CallbackAfterGroupDestroyed',
] as const;
export const BEFORE_COMMANDS = ['C2C.CallbackBeforeSendMsg', 'Group.CallbackBeforeSendMsg'] as const;
export const ALL_COMMANDS: readonly string[] = [...AFTER_COMMANDS, ...BEFORE_COMMANDS];

/** One business back end receiving callbacks. */
export interface CallbackTarget {
  id: string;
  url: string;
  sdkAppId: string;
  /** Tencent's callback token: adds RequestTime and Sign = sha256(token + RequestTime) to the URL. */
  token?: string | undefined;
  /** Key of our own body signature header (X-Switchboard-Signature: sha256=HMAC(key, body)). */
  hmacSecret?: string | undefined;
  /** Enabled commands. */
  commands: string[];
  /** Per-request timeout (ms): before-send callbacks and each delivery attempt. */
  timeoutMs: number;
  /** What a before-send callback that fails or times out means. */
  beforeSendPolicy: 'allow' | 'reject';
  /**
   * Before-send requests in flight to this target at once (per node); a send finding them all busy is
   * not queued: the failure policy applies at once. Default DEFAULT_BEFORE_SEND_CONCURRENCY.
   */
  beforeSendConcurrency?: number | undefined;
  enabled: boolean;
  /** Where it is defined: the config file/env (read-only at runtime) or the admin API. */
  source: 'config' | 'api';
}

export const DEFAULT_BEFORE_SEND_CONCURRENCY = 64;

export const TARGET_PREFIX = 'callback-target/';

/**
 * The callback targets in force: those of the configuration plus those managed through
 * /admin/callback/*, kept in the store's settings and reloaded on every node when the bus announces a
 * change (cache.invalidate, scope settings).
 */
export class CallbackTargets {
  private api: CallbackTarget[] = [];
  private byCommand = new Map<string, CallbackTarget[]>();

  constructor(
    private readonly configured: CallbackTarget[],
    private readonly settings: SettingsStore,
    bus: Bus,
    private readonly onError: (err: unknown) => void,
  ) {
    this.index();
    bus.subscribe((e) => {
      if (e.type === 'cache.invalidate' && e.scope === 'settings' && e.id.startsWith(TARGET_PREFIX)) {
        this.load().catch(onError);
      }
    });
    // A change announced while this node missed bus traffic: read the targets again.
    bus.onGap?.(() => this.load().catch(onError));
  }

  async load(): Promise<void> {
    const rows = await this.settings.list(TARGET_PREFIX);
    this.api = rows.map((r) => ({ ...(r.value as CallbackTarget), source: 'api' as const }));
    this.index();
  }

  private index(): void {
    const all = this.all();
    const m = new Map<string, CallbackTarget[]>();
    for (const t of all) {
      if (!t.enabled) continue;
      for (const c of t.commands) {
        let list = m.get(c);
        if (!list) m.set(c, (list = []));
        list.push(t);
      }
    }
    this.byCommand = m;
  }

  all(): CallbackTarget[] {
    const ids = new Set(this.configured.map((t) => t.id));
    return [...this.configured, ...this.api.filter((t) => !ids.has(t.id))];
  }

  get(id: string): CallbackTarget | undefined {
    return this.all().find((t) => t.id === id);
  }

  for(command: string): CallbackTarget[] {
    return this.byCommand.get(command) ?? [];
  }
}
