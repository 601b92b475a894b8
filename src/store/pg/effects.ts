import { fillEffectBody, type EffectFacts } from '../../core/outbox-jobs.js';
import type { EffectSpec } from '../../core/ports/outbox.js';
import { insertJobs, type JobInsert } from './outbox-rows.js';
import { recordChannelMessage } from './channel-apps.js';
import type { PgTx } from './writer.js';

/**
 * Facts of the committing command that effect specs may ask for (core/outbox-jobs.ts EffectFacts),
 * read asynchronously inside the command's transaction. Only the facts some spec asks for are read.
 */
export interface PgEffectFacts {
  message?: EffectFacts['message'];
  ownedGroups?: (owner: string, type: number) => Promise<number>;
  unread?: (userId: string) => Promise<number>;
}

/**
 * Inside a write command: the effects' jobs, with their commit-time facts filled in (core's
 * fillEffectBody), in spec order (ascending ids), written by the outbox's insertJobs (outbox-rows.ts:
 * one statement, heads kept, claim ahead after the commit). Throws invalid_parameter, writing nothing,
 * for a bad notBefore or ref.
 */
export async function insertEffects(tx: PgTx, specs: EffectSpec[] | undefined, facts: PgEffectFacts = {}): Promise<void> {
  if (!specs || specs.length === 0) return;
  const owned = new Map<string, number>();
  const unread = new Map<string, number>();
  for (const spec of specs) {
    const og = spec.fill?.ownedGroups;
    const ogKey = og ? `${og.type}\u0000${og.owner}` : '';
    if (og && facts.ownedGroups && !owned.has(ogKey)) owned.set(ogKey, await facts.ownedGroups(og.owner, og.type));
    const ur = spec.fill?.unreadOf;
    if (ur && facts.unread && !unread.has(ur.user)) unread.set(ur.user, await facts.unread(ur.user));
  }
  const sync: EffectFacts = {
    ...(facts.message ? { message: facts.message } : {}),
    ...(facts.ownedGroups ? { ownedGroups: (owner: string, type: number) => owned.get(`${type}\u0000${owner}`) ?? 0 } : {}),
    ...(facts.unread ? { unread: (u: string) => unread.get(u) ?? 0 } : {}),
  };
  const rows: JobInsert[] = specs.map((spec) => ({ job: spec, body: JSON.stringify(fillEffectBody(spec, sync)) }));
  await insertJobs(tx, rows);
  // Records that commit with their job (EffectSpec.records): a reply's channel metadata.
  for (const spec of specs) for (const r of spec.records ?? []) if (r.kind === 'channel.message') await recordChannelMessage(tx, r.message);
}
