import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { Recorder, type WaitOptions } from './ws-client.js';

/**
 * A real SMTP server for the e-mail tests (smtp-server, 127.0.0.1, port 0): it requires the given
 * credentials (AUTH PLAIN/LOGIN), offers STARTTLS with smtp-server's built-in self-signed certificate
 * (or TLS from the start with `secure`), and records every accepted message: envelope, whether the
 * session was encrypted, and the parsed headers, subject and text body (quoted-printable, base64 and
 * RFC 2047 encoded words decoded). `refuse` decides, per recipient, an SMTP error code to answer
 * instead of accepting (e.g. 550: permanent, 451: temporary). Waiting is on recorded messages only.
 */
export interface ReceivedMail {
  index: number;
  /** Envelope sender and recipients. */
  mailFrom: string;
  rcptTo: string[];
  /** The session was encrypted (STARTTLS or TLS). */
  secure: boolean;
  /** The authenticated user. */
  user: string | undefined;
  raw: string;
  /** Header fields by lowercase name (last one wins), unfolded and decoded. */
  headers: Record<string, string>;
  subject: string;
  text: string;
}

export interface SmtpSinkOptions {
  user?: string;
  pass?: string;
  /** TLS from the first byte (smtps://). */
  secure?: boolean;
  /** Do not offer STARTTLS (a plain-text-only relay). */
  noStartTls?: boolean;
}

export class SmtpSink {
  readonly mails = new Recorder<ReceivedMail>((xs) => `${xs.length} mails: ${xs.map((m) => `${m.rcptTo.join(',')}:${m.subject}`).join(' | ')}`);
  /** Per recipient: an SMTP code to refuse it with (4xx temporary, 5xx permanent), or undefined to accept. */
  refuse: (address: string) => number | undefined = () => undefined;
  /** Authentication attempts (user names), accepted or not. */
  readonly logins: string[] = [];
  private readonly server: SMTPServer;
  private port = 0;

  private constructor(private readonly opts: Required<SmtpSinkOptions>) {
    this.server = new SMTPServer({
      secure: opts.secure,
      logger: false,
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      disabledCommands: opts.noStartTls && !opts.secure ? ['STARTTLS'] : [],
      onAuth: (auth, _session, cb) => {
        this.logins.push(auth.username ?? '');
        if (auth.username === opts.user && auth.password === opts.pass) cb(null, { user: auth.username });
        else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onRcptTo: (address: SMTPServerAddress, _session, cb) => {
        const code = this.refuse(address.address);
        if (code === undefined) cb();
        else cb(Object.assign(new Error(code >= 500 ? 'No such user here' : 'Try again later'), { responseCode: code }));
      },
      onData: (stream, session: SMTPServerSession, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', (err) => cb(err));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.mails.push(parseMail(raw, this.mails.items.length, session));
          cb();
        });
      },
    });
    this.server.on('error', () => undefined);
  }

  static async start(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const sink = new SmtpSink({ user: 'mailer', pass: 's3cret', secure: false, noStartTls: false, ...options });
    await new Promise<void>((resolve, reject) => {
      sink.server.server.once('error', reject);
      sink.server.listen(0, '127.0.0.1', () => resolve());
    });
    sink.port = (sink.server.server.address() as AddressInfo).port;
    return sink;
  }

  /**
   * The connection URL of this relay with its credentials; STARTTLS (or TLS) accepts the built-in
   * self-signed certificate. `pass` overrides the password (to test a refused login).
   */
  url(opts: { pass?: string } = {}): string {
    const scheme = this.opts.secure ? 'smtps' : 'smtp';
    return `${scheme}://${encodeURIComponent(this.opts.user)}:${encodeURIComponent(opts.pass ?? this.opts.pass)}@127.0.0.1:${this.port}/?tls.rejectUnauthorized=false`;
  }

  waitFor(pred: (m: ReceivedMail) => boolean, opts: WaitOptions = {}): Promise<ReceivedMail> {
    return this.mails.waitFor(pred, opts);
  }

  /** The mails sent to `address`. */
  to(address: string): ReceivedMail[] {
    return this.mails.items.filter((m) => m.rcptTo.includes(address));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function parseMail(raw: string, index: number, session: SMTPServerSession): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = decodeWords(line.slice(i + 1).trim());
  }
  const cte = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const bytes = cte === 'base64' ? Buffer.from(body.replace(/\s+/g, ''), 'base64') : cte === 'quoted-printable' ? qpDecode(body) : Buffer.from(body, 'utf8');
  return {
    index,
    mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    rcptTo: session.envelope.rcptTo.map((r) => r.address),
    secure: session.secure,
    user: typeof session.user === 'string' ? session.user : undefined,
    raw,
    headers,
    subject: headers['subject'] ?? '',
    text: bytes.toString('utf8').replace(/\r\n/g, '\n').replace(/\n$/, ''),
  };
}

/** Quoted-printable to bytes (soft line breaks removed). */
function qpDecode(s: string): Buffer {
  const t = s.replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(t.slice(i + 1, i + 3))) {
      out.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(...Buffer.from(t[i]!, 'utf8'));
  }
  return Buffer.from(out);
}

/** RFC 2047 encoded words (=?charset?B|Q?…?=) decoded; whitespace between adjacent words dropped. */
function decodeWords(v: string): string {
  return v.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset: string, enc: string, text: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : qpDecode(text.replace(/_/g, ' ')).toString('utf8'),
  );
}
