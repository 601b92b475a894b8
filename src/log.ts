import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * JSON logs to stdout. Secrets never reach a log: request logging is off, and any header or field that
 * carries a credential is redacted should it be logged by mistake.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: {
      paths: [
        'req.headers.sign',
        'req.headers.nonce',
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.sign',
        'token',
        'secret',
        '*.token',
        '*.secret',
        'req.query.token',
      ],
      censor: '[redacted]',
    },
  });
}
