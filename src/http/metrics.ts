import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one server instance, served at GET /metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly adminRequests: Counter<'route' | 'code'>;
  readonly commitBatch: Histogram;
  readonly commitSeconds: Histogram;
  readonly wsConnections: Gauge;
  readonly wsDelivered: Counter;
  readonly callbacks: Counter<'command' | 'result'>;
  readonly callbackLag: Histogram;
  readonly notifyAttempts: Counter<'channel' | 'result'>;
  readonly busGaps: Counter<'reason'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.adminRequests = new Counter({
      name: 'switchboard_admin_requests_total',
      help: 'Admin API requests by route and Wildfire result code',
      labelNames: ['route', 'code'],
      registers: [this.registry],
    });
    this.commitBatch = new Histogram({
      name: 'switchboard_store_commit_batch_size',
      help: 'Writes per group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [this.registry],
    });
    this.commitSeconds = new Histogram({
      name: 'switchboard_store_commit_seconds',
      help: 'Duration of a group commit: its statements and COMMIT (with synchronous=FULL the WAL fsync follows, pipelined, and is not included)',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [this.registry],
    });
    this.wsConnections = new Gauge({ name: 'switchboard_ws_connections', help: 'Connected devices on this node', registers: [this.registry] });
    this.callbacks = new Counter({
      name: 'switchboard_callback_attempts_total',
      help: 'Callback delivery attempts by command and result (delivered, retry, dead)',
      labelNames: ['command', 'result'],
      registers: [this.registry],
    });
    this.callbackLag = new Histogram({
      name: 'switchboard_callback_lag_seconds',
      help: 'From the change committing to its callback being delivered',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [this.registry],
    });
    this.notifyAttempts = new Counter({
      name: 'switchboard_notify_attempts_total',
      help: 'Notification e-mail and SMS delivery attempts by channel (email, sms) and result (delivered, retry, dead)',
      labelNames: ['channel', 'result'],
      registers: [this.registry],
    });
    this.busGaps = new Counter({
      name: 'switchboard_bus_gaps_total',
      help: 'Times this node may have missed bus traffic (sequence, heartbeat, reconnect) and made its devices resync',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.wsDelivered = new Counter({
      name: 'switchboard_ws_frames_delivered_total',
      help: 'Live event frames written to device sockets',
      registers: [this.registry],
    });
  }

  private readonly callbackChildren = new Map<string, { inc: () => void }>();

  /** The attempts counter of one (command, result), bound once (a labels lookup per attempt costs). */
  callbackResult(command: string, result: 'delivered' | 'retry' | 'dead'): { inc: () => void } {
    const key = `${command}\u0000${result}`;
    let c = this.callbackChildren.get(key);
    if (!c) this.callbackChildren.set(key, (c = this.callbacks.labels(command, result)));
    return c;
  }
}
