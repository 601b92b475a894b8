import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The ceiling for bench/fanout: a bare `ws` server. Clients connect to /ws; POST /send with a JSON
 * body {"frame": "..."} writes exactly that text frame to every connection.
 */
const sockets = new Set<WebSocket>();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/send') {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const { frame } = JSON.parse(body) as { frame: string };
    for (const s of sockets) s.send(frame);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sent: sockets.size }));
  });
});
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => sockets.delete(ws));
  });
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
