import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Recorder, type WaitOptions } from './ws-client.js';

/**
 * A business back end for the callback tests: a real HTTP server on 127.0.0.1, port 0, that records
 * every request (method, path, query parameters, headers, raw body, parsed JSON) and answers each with
 * what `handler` decides: a status and body (default Tencent's OK reply), a response that never comes
 * (hang: the caller's timeout fires), or a reset connection. `close()` stops listening, so connections
 * are refused until `reopen()` listens again on the same port. Waiting is on recorded requests only.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface CallbackRequest {
  /** Arrival order (0-based) in this receiver. */
  index: number;
  method: string;
  /** URL path without the query string. */
  path: string;
  /** Query parameters (last value wins) and every key in order (to spot duplicates). */
  query: Record<string, string>;
  queryKeys: string[];
  headers: http.IncomingHttpHeaders;
  raw: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: Json;
  /** Shortcuts: query CallbackCommand, X-Switchboard-Delivery-Id, X-Switchboard-Attempt. */
  command: string;
  deliveryId: string | undefined;
  attempt: number | undefined;
  /** Date.now() when the full body had arrived. */
  receivedAt: number;
  /** What this receiver answered: an HTTP status, 'hang' (no answer) or 'reset'. */
  answer: number | 'hang' | 'reset';
}

export interface Reply {
  status?: number;
  /** A string is sent as is; anything else as JSON. Default: Tencent's OK reply. */
  body?: unknown;
  /** Never answer (the socket stays open until the caller gives up or the receiver closes). */
  hang?: boolean;
  /** Destroy the connection without an answer. */
  reset?: boolean;
}

export type Handler = (req: CallbackRequest) => Reply | undefined | void;

export const OK_REPLY = { ActionStatus: 'OK', ErrorInfo: '', ErrorCode: 0 };

export class CallbackReceiver {
  readonly log = new Recorder<CallbackRequest>(describe);
  /** Decides every answer; replace it at any time. */
  handler: Handler = () => undefined;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly hung = new Set<http.ServerResponse>();
  private port = 0;
  private listening = false;

  private constructor() {
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(handler?: Handler): Promise<CallbackReceiver> {
    const r = new CallbackReceiver();
    if (handler) r.handler = handler;
    await r.listen(0);
    return r;
  }

  /** http://127.0.0.1:PORT (append a path, e.g. `${url}/cb`). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get requests(): CallbackRequest[] {
    return this.log.items;
  }

  /** Number of requests recorded so far (a `from` for later waits). */
  get mark(): number {
    return this.log.items.length;
  }

  /** Resolves with the first recorded request (past or future, from `opts.from`) matching `pred`. */
  waitFor(pred: (r: CallbackRequest) => boolean, opts: WaitOptions = {}): Promise<CallbackRequest> {
    return this.log.waitFor(pred, opts);
  }

  /** The first request of `command` answered with a 2xx whose body matches `pred`. */
  waitDelivered(command: string, pred: (body: Json, r: CallbackRequest) => boolean = () => true, opts: WaitOptions = {}): Promise<CallbackRequest> {
    return this.log.waitFor((r) => r.command === command && ok(r) && pred(r.json, r), { label: `a delivered ${command}`, ...opts });
  }

  /** Every recorded request of `command` (any answer) whose body matches `pred`. */
  all(command: string, pred: (body: Json, r: CallbackRequest) => boolean = () => true): CallbackRequest[] {
    return this.log.items.filter((r) => r.command === command && pred(r.json, r));
  }

  /** Stop listening: new connections are refused; open and hanging ones are destroyed. */
  async close(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const res of this.hung) res.destroy();
    this.hung.clear();
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  /** Listen again on the same port after close(). */
  async reopen(): Promise<void> {
    await this.listen(this.port);
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', onError);
        this.port = (this.server.address() as AddressInfo).port;
        this.listening = true;
        resolve();
      });
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url ?? '/', 'http://x');
      const query: Record<string, string> = {};
      const queryKeys: string[] = [];
      for (const [k, v] of u.searchParams) {
        query[k] = v;
        queryKeys.push(k);
      }
      let json: Json;
      try {
        json = JSON.parse(raw);
      } catch {
        json = undefined;
      }
      const h = (name: string): string | undefined => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const attempt = h('x-switchboard-attempt');
      const rec: CallbackRequest = {
        index: this.log.items.length,
        method: req.method ?? '',
        path: u.pathname,
        query,
        queryKeys,
        headers: req.headers,
        raw,
        json,
        command: query['CallbackCommand'] ?? '',
        deliveryId: h('x-switchboard-delivery-id'),
        attempt: attempt === undefined ? undefined : Number(attempt),
        receivedAt: Date.now(),
        answer: 200,
      };
      let reply: Reply;
      try {
        reply = this.handler(rec) ?? {};
      } catch (err) {
        reply = { status: 599, body: `handler threw: ${String(err)}` };
      }
      if (reply.hang) {
        rec.answer = 'hang';
        this.hung.add(res);
        res.on('close', () => this.hung.delete(res));
        this.log.push(rec);
        return;
      }
      if (reply.reset) {
        rec.answer = 'reset';
        this.log.push(rec);
        req.socket.destroy();
        return;
      }
      const status = reply.status ?? 200;
      const body = reply.body === undefined ? JSON.stringify(OK_REPLY) : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      rec.answer = status;
      this.log.push(rec);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    });
  }
}

/** Answered with a 2xx. */
export function ok(r: CallbackRequest): boolean {
  return typeof r.answer === 'number' && r.answer >= 200 && r.answer < 300;
}

function describe(items: CallbackRequest[]): string {
  const tail = items.slice(-10).map((r) => `${r.command}#${r.deliveryId ?? '-'}/${r.attempt ?? '-'}→${r.answer}`);
  return `${items.length} requests${items.length > 10 ? ', last 10' : ''}: ${tail.join(' ')}`;
}

// ---------------------------------------------------------------------------------------------
// Independent computations of what the server must send.

/** Tencent's Sign: lowercase hex sha256(token + RequestTime). */
export function tencentSign(token: string, requestTime: string): string {
  return crypto.createHash('sha256').update(token + requestTime).digest('hex');
}

/** X-Switchboard-Signature: "sha256=" + hex HMAC-SHA256(secret, raw body). */
export function bodySignature(secret: string, raw: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(Buffer.from(raw, 'utf8')).digest('hex')}`;
}

export function isUint32(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

