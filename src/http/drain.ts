import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** How much of an unread request body is read (and discarded) before its reply, at most. */
export interface DrainLimits {
  maxBytes: number;
  maxMs: number;
}

/**
 * Read and discard what is left of a request body. Resolves true once the client has sent all of it
 * (the connection is then at a message boundary), false when it sent more than `maxBytes`, took
 * longer than `maxMs`, announced a Content-Length over `maxBytes`, or went away. Never rejects.
 */
export function drainRequest(req: IncomingMessage, limits: DrainLimits): Promise<boolean> {
  if (req.complete || req.readableEnded) return Promise.resolve(true);
  if (req.destroyed) return Promise.resolve(false);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
      resolve(ok);
    };
    const onData = (chunk: Buffer | string): void => {
      seen += chunk.length;
      if (seen > limits.maxBytes) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onGone = (): void => finish(req.complete);
    const timer = setTimeout(() => finish(false), limits.maxMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onGone);
    req.resume();
  });
}

/**
 * Lingering close (as nginx's lingering_close): once the reply to a request whose body was not read to
 * the end is written, Node would destroy the socket, and the client's next bytes would make the kernel
 * answer with a reset that can discard the reply before the client reads it. Instead the server only
 * half-closes (FIN after the reply) and keeps reading and discarding for at most `ms`, then destroys
 * the socket; a client that stops sending and closes its side ends it sooner.
 */
export function lingerOnClose(socket: Socket, ms: number): void {
  if (socket.destroyed) return;
  socket.destroySoon = function lingering(this: Socket): void {
    const timer = setTimeout(() => this.destroy(), ms);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
    this.on('data', () => undefined);
    this.resume();
    this.end();
  };
}

/**
 * Every reply of `app` waits until the client has finished sending its request body (bounded by
 * `limits`), so a client that streams its body without waiting for `100 Continue` (Node's fetch, curl
 * with a large body…) reads the reply instead of a connection reset. Replies sent before the body was
 * read are those that refuse a request early: a body over the limit, a bad signature, an unknown path.
 * A body fully drained keeps the connection alive (Fastify asks to close it after a body it could not
 * parse, for fear of unread bytes: there are none left); one that is not is closed once answered,
 * lingering (lingerOnClose) so that the client still reads the reply.
 */
export function drainBeforeReply(app: FastifyInstance, limits: DrainLimits): void {
  // Callback style: the common case (body already read) costs one property read, no promise.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (req.raw.complete) {
      done(null, payload);
      return;
    }
    void drainRequest(req.raw, limits).then((ok) => {
      if (ok) reply.removeHeader('connection');
      else {
        reply.header('connection', 'close');
        lingerOnClose(req.raw.socket, limits.maxMs);
      }
      done(null, payload);
    });
  });
}
