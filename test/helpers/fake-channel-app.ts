import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { sign000, sign002 } from '../../src/channel-apps/signature.js';
import { Recorder } from './ws-client.js';

/**
 * A fake channel app (a real HTTP server on 127.0.0.1, port 0) receiving Switchboard's outbound posts
 * in one protocol, as a real app would: it checks each request's signature (002: the `timestamp` and
 * `signature` query parameters, sha1(appid + token + timestamp); 000: X-Switchboard-Timestamp and the
 * body HMAC), answers `{errcode, errmsg}`, and shows a message to its customer once per idempotency key
 * (`shown`), however often it is posted. `down()` stops listening (connections refused) until `up()`
 * listens again on the same port; `failNext(n)` answers the next n valid posts with errcode 30004.
 */
export interface AppRequest {
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  raw: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  /** The signature checked out. */
  signed: boolean;
  /** What the app answered: 0 accepted, else the errcode. */
  errcode: number;
}

export class FakeChannelApp {
  readonly requests = new Recorder<AppRequest>((xs) => `${xs.length} requests: ${xs.map((x) => `${x.path}→${x.errcode}`).join(', ')}`);
  /** Idempotency keys of the messages shown to the customer, once each, in order. */
  readonly shown: string[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private failing = 0;

  private constructor(
    readonly protocol: '000' | '002',
    readonly appId: string,
    /** 002: the outbound token; 000: the app secret. */
    readonly key: string,
  ) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(protocol: '000' | '002', appId: string, key: string): Promise<FakeChannelApp> {
    const app = new FakeChannelApp(protocol, appId, key);
    await app.up();
    return app;
  }

  /** 002: the path_prefix to configure; 000: the messageWebhookUrl. */
  get url(): string {
    return this.protocol === '002' ? `http://127.0.0.1:${this.port}/qmtapi` : `http://127.0.0.1:${this.port}/webhook/messages`;
  }

  failNext(n: number): void {
    this.failing = n;
  }

  private handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(u.searchParams);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    let signed: boolean;
    if (this.protocol === '002') {
      signed = u.pathname === '/qmtapi/staffService/message' && !!query['timestamp'] && query['signature'] === sign002(this.appId, this.key, query['timestamp']);
    } else {
      const ts = String(req.headers['x-switchboard-timestamp'] ?? '');
      signed = u.pathname === '/webhook/messages' && ts !== '' && req.headers['x-switchboard-signature'] === `sha256=${sign000(this.key, ts, raw)}`;
    }
    let errcode = 0;
    if (!signed) errcode = 30003;
    else if (json === undefined) errcode = 30005;
    else if (this.failing > 0) {
      this.failing--;
      errcode = 30004;
    }
    const key = String(req.headers['idempotency-key'] ?? '');
    if (errcode === 0 && !this.shown.includes(key)) this.shown.push(key);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errcode, errmsg: errcode === 0 ? 'ok' : 'refused' }));
    this.requests.push({ path: u.pathname, query, headers: req.headers, raw, json, signed, errcode });
  }

  /** Stop listening; open connections are destroyed (posts fail until up()). */
  async down(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listen (again) on the same port (the first time: a free one). */
  up(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.down();
  }
}
