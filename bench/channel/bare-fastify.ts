import Fastify from 'fastify';

/**
 * The ceiling of this machine for inbound 002: bare Fastify on the same path, parses the JSON body and
 * answers `{errcode: 0, errmsg: "ok"}`. No signature check, no store.
 */
const app = Fastify({ logger: false });
app.post('/api/:version/:appid/staffService/message', async (req) => (req.body ? { errcode: 0, errmsg: 'ok' } : { errcode: 30005, errmsg: 'bad json' }));
app.listen({ host: '127.0.0.1', port: 0 }).then(
  () => {
    const addr = app.server.address();
    process.stdout.write(`listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
