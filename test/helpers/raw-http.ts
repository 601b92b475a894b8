import net from 'node:net';

/**
 * HTTP/1.1 over a bare TCP socket, for inputs Node's http client refuses to send: duplicate or
 * malformed headers, Content-Length values that lie, bodies over the server's limit written without
 * waiting for `100 Continue`. The first response is parsed (status, headers, body by Content-Length,
 * chunked, or until close); how the exchange ended is reported, never thrown.
 */

export type Header = readonly [name: string, value: string];

export interface RawHttpRequest {
  method?: string;
  /** Request target, written verbatim (no encoding). */
  path: string;
  /** Written verbatim, in order (so duplicates and odd bytes stay as given). No Host is added. */
  headers: Header[];
  body?: Buffer | string;
}

export interface RawHttpResponse {
  status: number;
  statusLine: string;
  /** Lower-case names; repeated headers keep every value. */
  headers: Record<string, string[]>;
  body: Buffer;
}

export interface RawHttpResult {
  /**
   * - response: a complete first response arrived (a reset after it does not matter);
   * - closed: the server closed the connection without a complete response;
   * - reset: the connection was reset (or a write failed) before a complete response;
   * - timeout: nothing complete within `timeoutMs`.
   */
  outcome: 'response' | 'closed' | 'reset' | 'timeout';
  response?: RawHttpResponse;
  /** From the first byte written to the end of the first response (or the outcome). */
  elapsedMs: number;
  error?: string;
}

export interface RawHttpOptions {
  timeoutMs?: number;
  /** Half-close the write side once the request is written (a client that has nothing more to send). */
  halfClose?: boolean;
}

/** The bytes of an HTTP/1.1 request, headers and body exactly as given. */
export function requestBytes(req: RawHttpRequest): Buffer {
  const head = [`${req.method ?? 'POST'} ${req.path} HTTP/1.1`, ...req.headers.map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  const body = req.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** The usual headers of a well-formed request to `baseUrl` with `body` (Host, Content-Length). */
export function baseHeaders(baseUrl: string, body: Buffer | string | undefined): Header[] {
  const len = body === undefined ? 0 : Buffer.byteLength(body);
  return [
    ['Host', new URL(baseUrl).host],
    ['Content-Length', String(len)],
  ];
}

/**
 * Parse the first final response from the start of `buf` (interim 1xx responses such as
 * `100 Continue` are skipped, except 101 which is final for an upgrade); undefined while incomplete
 * (`eof`: the peer closed).
 */
export function parseResponse(buf: Buffer, eof: boolean): RawHttpResponse | undefined {
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const m = /^HTTP\/1\.[01] (1\d\d)/.exec(buf.subarray(0, end).toString('latin1'));
    if (!m || m[1] === '101') return parseOne(buf, eof);
    buf = buf.subarray(end + 4);
  }
}

function parseOne(buf: Buffer, eof: boolean): RawHttpResponse | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) return undefined;
  const status = Number(m[1]);
  const headers: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    (headers[k] ??= []).push(line.slice(i + 1).trim());
  }
  const rest = buf.subarray(end + 4);
  // 1xx, 204 and 304 carry no body.
  if ((status >= 100 && status < 200) || status === 204 || status === 304) return { status, statusLine, headers, body: Buffer.alloc(0) };
  const te = (headers['transfer-encoding'] ?? []).join(',').toLowerCase();
  if (te.includes('chunked')) {
    const body = dechunk(rest);
    return body ? { status, statusLine, headers, body } : undefined;
  }
  const cl = headers['content-length']?.[0];
  if (cl !== undefined) {
    const n = Number(cl);
    if (rest.length < n) return undefined;
    return { status, statusLine, headers, body: rest.subarray(0, n) };
  }
  return eof ? { status, statusLine, headers, body: rest } : undefined;
}

function dechunk(buf: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Write `request` to the server at `baseUrl` and read its first response. */
export function rawHttp(baseUrl: string, request: Buffer, opts: RawHttpOptions = {}): Promise<RawHttpResult> {
  const { hostname, port } = new URL(baseUrl);
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let done = false;
    const sock = net.connect(Number(port), hostname);
    const finish = (r: Omit<RawHttpResult, 'elapsedMs'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...r, elapsedMs: performance.now() - started });
    };
    const timer = setTimeout(() => {
      const response = parseResponse(Buffer.concat(chunks), false);
      finish(response ? { outcome: 'response', response } : { outcome: 'timeout', error: `no complete response within ${timeoutMs} ms` });
    }, timeoutMs);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const response = parseResponse(Buffer.concat(chunks), false);
      if (response) finish({ outcome: 'response', response });
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const response = parseResponse(Buffer.concat(chunks), true);
      finish(response ? { outcome: 'response', response } : { outcome: 'reset', error: err.code ?? err.message });
    });
    sock.on('close', () => {
      const response = parseResponse(Buffer.concat(chunks), true);
      finish(response ? { outcome: 'response', response } : { outcome: 'closed', error: `closed after ${Buffer.concat(chunks).length} bytes` });
    });
    sock.on('connect', () => {
      sock.write(request);
      if (opts.halfClose) sock.end();
    });
  });
}
