import { rawHttp, requestBytes, type RawHttpResult } from '../helpers/raw-http.js';
import { REPLY_DEADLINE_MS } from './config.js';
import type { Snapshot } from './snapshot.js';
import type { FuzzServer } from './target.js';

/**
 * The invariants every fuzz case is checked against:
 * 1. the server process never exits (checked by a liveness probe after each case: a crash is
 *    reported with the process's exit status and the tail of its output);
 * 2. no HTTP 5xx, and no internal error in an envelope (code 4 "server error") or frame;
 * 3. every reply within REPLY_DEADLINE_MS (5 s);
 * 4. a refused input changes no stored data (the fixture snapshot before and after is equal);
 * 5. other devices keep receiving live messages (the canary check, every few cases);
 * plus the shape of each surface's refusals (admin: HTTP 200 envelope, unsigned never executes).
 */

/** After a case: the process must still run and answer GET /health within the deadline. */
export async function assertAlive(server: FuzzServer, label: string): Promise<void> {
  if (server.alive) {
    const probe = await rawHttp(server.url, requestBytes({ method: 'GET', path: '/health', headers: [['Host', new URL(server.url).host]] }), {
      timeoutMs: REPLY_DEADLINE_MS,
    });
    if (probe.outcome === 'response' && probe.response?.status === 200) return;
    // A dying process may still hold its port for a moment: give the exit a chance to be seen.
    await waitExit(server, 2000);
    if (server.alive) throw new Error(`${label}: the server stopped answering GET /health (${probe.outcome} ${probe.error ?? probe.response?.status ?? ''})`);
  }
  throw new Error(`${label}: ${server.exitReport()}`);
}

async function waitExit(server: FuzzServer, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (server.alive && Date.now() < deadline) await new Promise<void>((r) => setImmediate(r));
}

export interface AdminExpectation {
  /** A route the server has (else: 404 with the 254 envelope); 'either' for path spellings a router may or may not map to a route. */
  known: boolean | 'either';
  /** Correctly signed (else the reply must be 239, 243 or 244: nothing runs). Unsigned routes: true. */
  authentic: boolean;
  /** The request lies about its length and the client stopped sending: closing without a reply is fine. */
  mayClose: boolean;
  /** Malformed HTTP (bad framing or header bytes): Node's parser may answer a bare 4xx itself. */
  mayBare4xx: boolean;
}

export interface AdminVerdict {
  /** The envelope's code (undefined: no envelope, e.g. a bare 400 or a close). */
  code: number | undefined;
  /** Anything but code 0. */
  refused: boolean;
}

interface Envelope {
  code: unknown;
  msg: unknown;
}

/** The admin reply invariants; throws a description of the first one broken. */
export function checkAdminReply(label: string, res: RawHttpResult, exp: AdminExpectation): AdminVerdict {
  if (res.outcome === 'timeout') throw new Error(`${label}: no reply within ${REPLY_DEADLINE_MS} ms`);
  if (res.elapsedMs > REPLY_DEADLINE_MS) throw new Error(`${label}: replied after ${Math.round(res.elapsedMs)} ms (deadline ${REPLY_DEADLINE_MS} ms)`);
  if (res.outcome !== 'response' || !res.response) {
    if (exp.mayClose) return { code: undefined, refused: true };
    throw new Error(`${label}: the connection ${res.outcome === 'reset' ? 'was reset' : 'was closed'} without a reply (${res.error ?? ''}) after ${Math.round(res.elapsedMs)} ms`);
  }
  const r = res.response;
  if (r.status >= 500) throw new Error(`${label}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
  let env: Envelope | undefined;
  try {
    env = JSON.parse(r.body.toString('utf8')) as Envelope;
  } catch {
    env = undefined;
  }
  const isEnvelope = env !== undefined && env !== null && typeof env === 'object' && Number.isInteger(env.code) && typeof env.msg === 'string';
  if (!isEnvelope) {
    if (exp.mayBare4xx && r.status >= 400 && r.status < 500) return { code: undefined, refused: true };
    throw new Error(`${label}: HTTP ${r.status} without the {code, msg} envelope: ${r.body.toString('utf8').slice(0, 200)}`);
  }
  const code = env!.code as number;
  if (code === 4 && env!.msg === 'server error') {
    throw new Error(`${label}: internal error (code 4 "server error"; x-switchboard-error: ${r.headers['x-switchboard-error']?.[0] ?? '-'})`);
  }
  if (r.status === 404 && exp.known !== true) {
    if (code !== 254) throw new Error(`${label}: an unknown path answered HTTP 404 code ${code} (want code 254)`);
    return { code, refused: true };
  }
  if (exp.known === false) throw new Error(`${label}: an unknown path answered HTTP ${r.status} code ${code} (want 404 code 254)`);
  if (r.status !== 200) {
    if (exp.mayBare4xx && r.status >= 400 && r.status < 500) return { code, refused: true };
    throw new Error(`${label}: HTTP ${r.status} on a known route (want 200 with the envelope): ${r.body.toString('utf8').slice(0, 200)}`);
  }
  if (r.headers['content-length'] === undefined) throw new Error(`${label}: a reply without Content-Length`);
  if (!exp.authentic && ![239, 243, 244].includes(code)) {
    throw new Error(`${label}: a request that is not correctly signed was answered code ${code} (want 239, 243 or 244): it ran`);
  }
  return { code, refused: code !== 0 };
}

/**
 * Run one case against the server with the invariants around it: `act` sends the input and returns
 * whether it was refused; then liveness, stored data (when refused) and the canary are checked. Any
 * failure marks the server for a restart before the next case.
 */
export async function guardedCase(server: FuzzServer, label: string, act: () => Promise<{ refused: boolean }>): Promise<void> {
  await server.ready();
  await server.repair();
  let before: Snapshot;
  try {
    before = await server.before();
  } catch (err) {
    server.taint('snapshot failed');
    throw new Error(`${label}: reading the snapshot before the case failed: ${(err as Error).message}`);
  }
  try {
    let outcome: { refused: boolean };
    try {
      outcome = await act();
    } finally {
      await assertAlive(server, label);
    }
    server.stats[outcome.refused ? 'refused' : 'accepted']++;
    if (outcome.refused) await server.assertUnchanged(before, label);
    else await server.after(label);
    await server.canaryCheck();
  } catch (err) {
    server.taint((err as Error).message);
    throw err;
  }
}
