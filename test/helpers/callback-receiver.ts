import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { Recorder, type WaitOptions } from './ws-client.js';

/**
 * A business back end for the callback tests: a real HTTP server on 127.0.0.1, port 0, that records
 * every request (method, path, query parameters, headers, raw body, parsed JSON) and answers each with
 * what `handler` decides: a status and body (default Tencent's OK reply), a response that never comes
 * (hang: the caller's timeout fires), a reset connection, a body trickled one byte at a time, or a
 * body streamed by the megabyte. Each request also records when its connection closed (`closed`), and
 * how many body bytes were written to it. `close()` stops listening, so connections are refused until
 * `reopen()` listens again on the same port. Waiting is on recorded requests only.
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
  /** performance.now() then (monotonic, to measure durations against `closed`). */
  receivedMono: number;
  /** The caller's port: requests on one kept-alive connection share it. */
  remotePort: number;
  /** What this receiver answered: an HTTP status, 'hang' (no answer), 'reset', or 'trickle' (headers, then a never-ending body). */
  answer: number | 'hang' | 'reset' | 'trickle';
  /** Resolves with performance.now() when this request's connection has closed (either side). */
  closed: Promise<number>;
  /** Body bytes written so far (trickle and stream answers). */
  sentBytes: number;
}

export interface Reply {
  status?: number;
  /** A string is sent as is; anything else as JSON. Default: Tencent's OK reply. */
  body?: unknown;
  /** Never answer (the socket stays open until the caller gives up or the receiver closes). */
  hang?: boolean;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** Answer the status and headers at once, then one body byte every `intervalMs`, never ending. */
  trickle?: { intervalMs: number; status?: number };
  /** Answer `bytes` body bytes (Infinity: never ending) as fast as the caller reads them. */
  stream?: { bytes: number; status?: number; chunk?: string };
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
        receivedMono: performance.now(),
        remotePort: req.socket.remotePort ?? 0,
        answer: 200,
        closed: closed(req),
        sentBytes: 0,
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
      if (reply.trickle) {
        const { intervalMs, status = 200 } = reply.trickle;
        rec.answer = 'trickle';
        this.log.push(rec);
        this.hung.add(res);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.write('{');
        rec.sentBytes = 1;
        res.on('error', () => undefined);
        const timer = setInterval(() => {
          if (res.destroyed || res.writableEnded) return;
          res.write(' ');
          rec.sentBytes++;
        }, intervalMs);
        res.on('close', () => {
          clearInterval(timer);
          this.hung.delete(res);
        });
        return;
      }
      if (reply.stream) {
        const { bytes, status = 200 } = reply.stream;
        const chunk = Buffer.from((reply.stream.chunk ?? 'x').repeat(64 * 1024).slice(0, 64 * 1024));
        rec.answer = status;
        this.log.push(rec);
        this.hung.add(res);
        res.on('close', () => this.hung.delete(res));
        res.on('error', () => undefined);
        res.writeHead(status, { 'content-type': 'application/json', ...(Number.isFinite(bytes) ? { 'content-length': String(bytes) } : {}) });
        const pump = (): void => {
          while (rec.sentBytes < bytes && !res.destroyed) {
            const n = Math.min(chunk.length, bytes - rec.sentBytes);
            rec.sentBytes += n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              res.once('drain', pump);
              return;
            }
          }
          if (!res.destroyed) res.end();
        };
        pump();
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

/** One close listener per connection, however many requests a keep-alive connection carries. */
const socketClosed = new WeakMap<object, Promise<number>>();

/** When the request's connection closes (performance.now()); already closed: now. */
function closed(req: http.IncomingMessage): Promise<number> {
  const socket = req.socket;
  if (socket.destroyed) return Promise.resolve(performance.now());
  let p = socketClosed.get(socket);
  if (!p) {
    p = new Promise((resolve) => socket.once('close', () => resolve(performance.now())));
    socketClosed.set(socket, p);
  }
  return p;
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


/**
 * A TCP listener that never accepts: a child process listens (backlog 1) and then blocks its event
 * loop, so once its accept queue is full (`fill` connections opened here) a new connection attempt
 * stays in SYN-SENT — connecting never completes. For testing connect timeouts. `close()` kills it.
 */
export async function startUnacceptingListener(fill = 8): Promise<{ url: string; close: () => Promise<void> }> {
  const script = `
    const net = require('node:net');
    const fs = require('node:fs');
    const s = net.createServer();
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      fs.writeSync(1, s.address().port + '\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`unaccepting listener exited (${code})`)));
  });
  const fillers: Socket[] = [];
  for (let i = 0; i < fill; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    fillers.push(s);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of fillers) s.destroy();
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
