import http from 'node:http';
import { AdminClient, sdkSign, type AdminResponse } from './admin-client.js';

let nonceCounter = 200_000_000 + Math.floor(Math.random() * 100_000_000);

/**
 * An AdminClient that keeps its connections alive (the base client opens one per request) and never
 * repeats a nonce: for tests that read the admin API hundreds of times per second (fuzz snapshots).
 */
export class KeepAliveAdmin extends AdminClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  override post<T = unknown>(path: string, body: unknown, opts: { headers?: Record<string, string>; rawBody?: string } = {}): Promise<AdminResponse<T>> {
    const payload = opts.rawBody ?? (body === undefined ? '' : JSON.stringify(body));
    const nonce = String(nonceCounter++);
    const timestamp = String(Date.now());
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(payload)),
      nonce,
      timestamp,
      sign: sdkSign(nonce, this.secret, timestamp),
      ...(opts.headers ?? {}),
    };
    return new Promise((resolve, reject) => {
      const req = http.request(new URL(`/admin${path}`, this.baseUrl), { method: 'POST', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, body: JSON.parse(raw) as AdminResponse<T>['body'] });
          } catch {
            reject(new Error(`non-JSON reply ${res.statusCode ?? 0} from ${path}: ${raw.slice(0, 200)}`));
          }
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Close the kept-alive connections. */
  destroy(): void {
    this.agent.destroy();
  }
}
