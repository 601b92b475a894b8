import type { WebSocketConstructor, WebSocketLike } from '../../sdk/src/index.js';

/**
 * An in-memory WebSocket for unit tests of the SDK: the test plays the server. Frames the client
 * writes are parsed into `sent`; `open()`, `receive()` and `serverClose()` drive the client.
 */
export type Frame = { type: string; [k: string]: unknown };

export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: Frame[] = [];
  closedByClient: { code?: number; reason?: string } | undefined;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;

  constructor(readonly url: string) {}

  get cursorParam(): string | null {
    return new URL(this.url).searchParams.get('cursor');
  }

  get tokenParam(): string | null {
    return new URL(this.url).searchParams.get('token');
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send on a socket in state ${this.readyState}`);
    this.sent.push(JSON.parse(data) as Frame);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = 3;
  }

  /** Frames of `type` the client wrote on this socket. */
  sentOf(type: string): Frame[] {
    return this.sent.filter((f) => f.type === type);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** Open, hello, and (unless `synced` is false) the end of replay at `cursor`. */
  accept(cursor = 0, opts: { synced?: boolean; userId?: string; clientId?: string } = {}): void {
    this.open();
    this.receive({ type: 'hello', userId: opts.userId ?? 'u', clientId: opts.clientId ?? 'c' });
    if (opts.synced ?? true) this.receive({ type: 'synced', cursor });
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

/** A constructor to pass as `options.WebSocket`, and every socket it made, in order. */
export function fakeNetwork(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[]; last(): FakeSocket } {
  const sockets: FakeSocket[] = [];
  class Socket extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return {
    WebSocket: Socket,
    sockets,
    last: () => {
      const s = sockets[sockets.length - 1];
      if (!s) throw new Error('no socket was opened');
      return s;
    },
  };
}

/** A message frame as the server sends it. */
export function messageFrame(cursor: number, uid: number, timestamp = 1_700_000_000_000 + uid, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'message',
    cursor,
    message: { messageId: uid, sender: 'a', conv: { type: 0, target: 'u', line: 0 }, payload: { type: 1, searchableContent: `m${uid}` }, toUsers: [], timestamp },
    ...extra,
  };
}

/** Resolve after pending promise callbacks (not a timer: the microtask queue only). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
