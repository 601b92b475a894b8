import http from 'node:http';

/**
 * A seed 002 channel app for the outbound benchmark: `POST /qmtapi/staffService/message` answers
 * `{errcode: 0}` and counts each idempotency key once (a duplicate is counted apart); `GET /stats`
 * gives `{accepted, duplicates, first, last}` (ms) of other keys since the last `POST /reset`, and
 * `{sb, lastSb}`: Switchboard's replies (`switchboard-msg-*` keys) ever accepted (and `{upAt, firstSb,
 * sbHist}`: since the app last came up, its first reply and the replies per 100 ms); `POST /down` makes every
 * post answer 503 until `POST /up`. Node's http, one process.
 */
let seen = new Set<string>();
/** Unique Switchboard replies (`switchboard-msg-*` keys) ever accepted, and when the last arrived. */
let sb = 0;
const sbSeen = new Set<string>();
let lastSb = 0;
/** When the app last came up, and Switchboard's first reply after it (ms). */
let upAt = 0;
let firstSb = 0;
/** Switchboard's replies accepted per 100 ms since the app last came up (the delivery's shape). */
let sbHist: number[] = [];
/** While down, every post is answered 503 (the app is unavailable). */
let down = false;
let duplicates = 0;
let first = 0;
let last = 0;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: seen.size, duplicates, first, last, sb, lastSb, upAt, firstSb, sbHist }));
      return;
    }
    if (req.method === 'POST' && (req.url === '/down' || req.url === '/up')) {
      down = req.url === '/down';
      if (!down) {
        upAt = Date.now();
        firstSb = 0;
        sbHist = [];
      }
      res.end('{}');
      return;
    }
    if (down) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"errcode":30004,"errmsg":"unavailable"}');
      return;
    }
    if (req.method === 'POST' && req.url === '/reset') {
      seen = new Set();
      duplicates = 0;
      first = last = 0;
      res.end('{}');
      return;
    }
    const key = String(req.headers['idempotency-key'] ?? '');
    const now = Date.now();
    if (seen.has(key) || sbSeen.has(key)) duplicates++;
    else if (key.startsWith('switchboard-msg-')) {
      sbSeen.add(key);
      sb++;
      lastSb = now;
      if (firstSb === 0) firstSb = now;
      const b = Math.floor((now - upAt) / 100);
      while (sbHist.length <= b) sbHist.push(0);
      sbHist[b]!++;
    } else seen.add(key);
    if (first === 0) first = now;
    last = now;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"errcode":0,"errmsg":"ok"}');
  });
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
