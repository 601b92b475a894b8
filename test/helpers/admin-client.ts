import crypto from 'node:crypto';
import http from 'node:http';

export interface AdminResponse<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: { code: number; msg: string; result?: T };
}

export interface SignedHeaders {
  nonce: string;
  timestamp: string;
  sign: string;
}

/** Wildfire's signature, computed independently of the server's code. */
export function sdkSign(nonce: string, secret: string, timestamp: string): string {
  return crypto.createHash('sha1').update(`${nonce}|${secret}|${timestamp}`).digest('hex');
}

let nonceCounter = Math.floor(Math.random() * 100000);

/**
 * Headers the way the Java SDK builds them: nonce an int in 3..100002, timestamp in ms. The SDK draws
 * the nonce at random, so two of its requests in one millisecond collide now and then and the second
 * is (rightly) refused as a replay; this client walks the same range with a counter instead, so its
 * concurrent requests never collide.
 */
export function sdkHeaders(secret: string, now = Date.now()): SignedHeaders {
  nonceCounter = (nonceCounter + 1) % 100000;
  const nonce = String(3 + nonceCounter);
  const timestamp = String(now);
  return { nonce, timestamp, sign: sdkSign(nonce, secret, timestamp) };
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** One HTTP request with full control over headers and body bytes. */
export function rawRequest(baseUrl: string, req: RawRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders; raw: string }> {
  const url = new URL(req.path, baseUrl);
  return new Promise((resolve, reject) => {
    const r = http.request(
      url,
      { method: req.method ?? 'POST', headers: req.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

/**
 * A client that signs and sends like Wildfire's Java SDK: POST, JSON body, headers nonce/timestamp/sign,
 * `Content-Type: application/json; charset=utf-8` and `Content-Encoding: UTF-8`.
 */
export class AdminClient {
  constructor(
    readonly baseUrl: string,
    readonly secret: string,
  ) {}

  async post<T = unknown>(path: string, body: unknown, opts: { headers?: Record<string, string>; rawBody?: string } = {}): Promise<AdminResponse<T>> {
    const payload = opts.rawBody ?? (body === undefined ? '' : JSON.stringify(body));
    const res = await rawRequest(this.baseUrl, {
      path: `/admin${path}`,
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Encoding': 'UTF-8',
        Connection: 'Keep-Alive',
        'Content-Length': String(Buffer.byteLength(payload)),
        ...sdkHeaders(this.secret),
        ...(opts.headers ?? {}),
      },
      body: payload,
    });
    let parsed: AdminResponse<T>['body'];
    try {
      parsed = JSON.parse(res.raw) as AdminResponse<T>['body'];
    } catch {
      throw new Error(`non-JSON reply ${res.status} from ${path}: ${res.raw.slice(0, 200)}`);
    }
    return { ...res, body: parsed };
  }

  /** POST and expect code 0; returns the result. */
  async ok<T = unknown>(path: string, body: unknown): Promise<T> {
    const r = await this.post<T>(path, body);
    if (r.status !== 200 || r.body.code !== 0) {
      throw new Error(`${path} -> HTTP ${r.status} ${JSON.stringify(r.body)} (${String(r.headers['x-switchboard-error'] ?? '')})`);
    }
    return r.body.result as T;
  }

  /** POST and return only the Wildfire code (asserting HTTP 200). */
  async code(path: string, body: unknown): Promise<number> {
    const r = await this.post(path, body);
    if (r.status !== 200) throw new Error(`${path} -> HTTP ${r.status}`);
    return r.body.code;
  }

  // Conveniences for fixtures.
  async createUser(userId: string, extra: Record<string, unknown> = {}): Promise<void> {
    await this.ok('/user/create', { userId, name: `name-${userId}`, displayName: userId, ...extra });
  }

  async createGroup(groupId: string, owner: string, members: string[], info: Record<string, unknown> = {}): Promise<void> {
    await this.ok('/group/create', {
      operator: owner,
      group: { group_info: { target_id: groupId, name: groupId, owner, type: 2, ...info }, members: members.map((m) => ({ member_id: m })) },
    });
  }

  async send(sender: string, conv: { type: number; target: string; line?: number }, payload: Record<string, unknown>, toUsers?: string[]) {
    return this.ok<{ messageUid: number; timestamp: number }>('/message/send', {
      sender,
      conv: { line: 0, ...conv },
      payload,
      ...(toUsers ? { toUsers } : {}),
    });
  }
}
