import type { FastifyCorsOptions } from '@fastify/cors';

/**
 * CORS of /v1/cms for browser front ends on other origins (config notifications.corsOrigins): the
 * listed origins (or `*`: any) may call every route with a token in a header; preflights are
 * answered 204 without a token and cached for 10 minutes. Tokens travel in a header, never in
 * cookies, so credentials are not allowed. Refusals (401, 403, 404 of the envelope) carry the headers
 * too, so the page can read why.
 */
export function corsOptions(origins: readonly string[]): FastifyCorsOptions {
  return {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    // Every header form of the token (auth.ts) and the body's type.
    allowedHeaders: ['Authorization', 'token', 'Content-Type'],
    credentials: false,
    maxAge: 600,
    strictPreflight: true,
  };
}
