import Fastify from 'fastify';

/**
 * The ceiling of this machine for the send benchmark: bare Fastify, same route path, parses the JSON
 * body and echoes it back. No signature check, no store.
 */
const app = Fastify({ logger: false });
app.post('/admin/message/send', async (req) => req.body);
const port = Number(process.argv[2] ?? 0);
app.listen({ host: '127.0.0.1', port }).then(
  () => {
    const addr = app.server.address();
    process.stdout.write(`listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
