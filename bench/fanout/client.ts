import WebSocket from 'ws';

/**
 * A bench/fanout client process: opens many WebSocket connections from one local address at a bounded
 * rate and records, per tag, the latency of each message frame (now − the send time the bench put in
 * the payload as "tag|sentAtMs"). Driven by the parent over IPC.
 */
type Cmd =
  | { cmd: 'connect'; urls: string[]; localAddress: string; perSecond: number }
  | { cmd: 'stats'; tag: string }
  | { cmd: 'close' };

const sockets: WebSocket[] = [];
const latencies = new Map<string, number[]>();
let open = 0;
let failed = 0;

function record(data: WebSocket.RawData): void {
  const text = data.toString();
  // Cheap extraction without parsing the whole frame: the payload content is "tag|sentAt".
  const i = text.indexOf('"searchableContent":"');
  let content: string | undefined;
  if (i >= 0) {
    const start = i + 21;
    content = text.slice(start, text.indexOf('"', start));
  } else {
    const j = text.indexOf('"content":"');
    if (j >= 0) content = text.slice(j + 11, text.indexOf('"', j + 11));
  }
  if (!content || !content.includes('|')) return;
  const [tag, sentAt] = content.split('|');
  const lat = Date.now() - Number(sentAt);
  let arr = latencies.get(tag!);
  if (!arr) latencies.set(tag!, (arr = []));
  arr.push(lat);
}

async function connectAll(urls: string[], localAddress: string, perSecond: number): Promise<void> {
  const interval = 1000 / perSecond;
  let next = Date.now();
  await Promise.all(
    urls.map(async (url) => {
      const delay = next - Date.now();
      next += interval;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
        ws.on('open', () => {
          open++;
          sockets.push(ws);
          resolve();
        });
        ws.on('message', record);
        ws.on('error', () => {
          failed++;
          resolve();
        });
        ws.on('close', () => {
          open--;
        });
      });
    }),
  );
}

process.on('message', (m: Cmd) => {
  if (m.cmd === 'connect') {
    void connectAll(m.urls, m.localAddress, m.perSecond).then(() => process.send?.({ evt: 'connected', open, failed }));
  } else if (m.cmd === 'stats') {
    process.send?.({ evt: 'stats', tag: m.tag, latencies: latencies.get(m.tag) ?? [], open });
  } else if (m.cmd === 'close') {
    for (const s of sockets) s.terminate();
    process.send?.({ evt: 'closed' });
    setTimeout(() => process.exit(0), 100);
  }
});
process.send?.({ evt: 'ready' });
