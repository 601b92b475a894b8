import WebSocket from 'ws';

/**
 * A bench/notify client process: opens live inbox sockets (/v1/cms/getMessageRealTime) at a bounded
 * rate, waits for each backlog, then records when each socket received its first pushed item. Driven
 * by the parent over IPC.
 */
type Cmd = { cmd: 'connect'; urls: string[]; perSecond: number } | { cmd: 'wait'; id: string } | { cmd: 'close' };

const sockets: WebSocket[] = [];
const arrivals = new Map<string, number[]>();
let failed = 0;
let waiting: { id: string; n: number } | null = null;

function onFrame(data: WebSocket.RawData): void {
  const text = data.toString();
  if (text.startsWith('[')) return; // the backlog
  const m = /"id":"([0-9a-f]{24})"/.exec(text);
  if (!m) return;
  let arr = arrivals.get(m[1]!);
  if (!arr) arrivals.set(m[1]!, (arr = []));
  arr.push(Date.now());
  check();
}

function check(): void {
  if (!waiting) return;
  const got = arrivals.get(waiting.id) ?? [];
  if (got.length >= waiting.n) {
    process.send!({ type: 'arrived', id: waiting.id, n: got.length, first: Math.min(...got), last: Math.max(...got) });
    waiting = null;
  }
}

async function connectAll(urls: string[], perSecond: number): Promise<void> {
  const interval = 1000 / perSecond;
  let next = Date.now();
  await Promise.all(
    urls.map(async (url) => {
      const delay = next - Date.now();
      next += interval;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        ws.on('message', (d) => {
          if (d.toString().startsWith('[')) {
            sockets.push(ws);
            resolve();
          }
          onFrame(d);
        });
        ws.on('error', () => {
          failed++;
          resolve();
        });
      });
    }),
  );
}

process.on('message', (m: Cmd) => {
  if (m.cmd === 'connect') {
    void connectAll(m.urls, m.perSecond).then(() => process.send!({ type: 'connected', open: sockets.length, failed }));
  } else if (m.cmd === 'wait') {
    waiting = { id: m.id, n: sockets.length };
    check();
  } else {
    for (const s of sockets) s.terminate();
    process.exit(0);
  }
});
