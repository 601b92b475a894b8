import http from 'node:http';

/**
 * The callback receiver of bench/send: answers Tencent's OK reply at once and records, per delivery,
 * the lag from the change committing (X-Switchboard-Created-At) to arrival. GET /stats returns the
 * count and lag percentiles since the last GET /reset.
 */
let lags: number[] = [];
const ids = new Set<string>();
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    const s = [...lags].sort((a, b) => a - b);
    const p = (q: number): number => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : 0);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: lags.length, distinct: ids.size, p50: p(0.5), p99: p(0.99), max: s[s.length - 1] ?? 0 }));
    return;
  }
  if (req.method === 'GET' && req.url === '/reset') {
    lags = [];
    ids.clear();
    res.writeHead(200).end('{}');
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    const created = Number(req.headers['x-switchboard-created-at']);
    if (Number.isFinite(created)) lags.push(Date.now() - created);
    const id = req.headers['x-switchboard-delivery-id'];
    if (typeof id === 'string') ids.add(id);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
