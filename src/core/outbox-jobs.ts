import { invalid } from './errors.js';
import { messageKey } from './ids.js';
import type { EffectSpec, NewJob } from './ports/outbox.js';

/**
 * How a requested job becomes an outbox row, the same for every store backend: when it is first due,
 * its correlation reference, and the body of an effect with its commit-time facts filled in
 * (EffectSpec.fill). Pure: the store supplies the facts its transaction knows.
 */

/** Longest correlation reference (NewJob.ref). */
export const MAX_JOB_REF = 256;

/** When a new job is first due: at once, or at its notBefore. Throws invalid_parameter for a bad notBefore. */
export function jobDueAt(j: NewJob, now: number): number {
  if (j.notBefore === undefined) return now;
  if (typeof j.notBefore !== 'number' || !Number.isFinite(j.notBefore)) throw invalid('outbox job notBefore must be a finite time in ms');
  return Math.max(now, Math.ceil(j.notBefore));
}

/** The job's reference as stored (null: none). Throws invalid_parameter for an empty or over-long one. */
export function jobRef(j: NewJob): string | null {
  if (j.ref === undefined) return null;
  if (typeof j.ref !== 'string' || j.ref.length === 0 || j.ref.length > MAX_JOB_REF) throw invalid(`outbox job ref must be 1..${MAX_JOB_REF} characters`);
  return j.ref;
}

/** Facts of the committing command that effect specs may ask for. */
export interface EffectFacts {
  /** `groupSeq`: the message's number within its group, when it took one. */
  message?: { uid: number; timestamp: number; seq: number; groupSeq?: number };
  /** The number of groups of `type` that `owner` owns, as this command leaves them. */
  ownedGroups?: (owner: string, type: number) => number;
  /** The user's unread total over single chats as this command leaves it. */
  unread?: (userId: string) => number;
}

/** The body of an effect's job: spec.body with the fields of spec.fill set from `facts` (those given). */
export function fillEffectBody(spec: EffectSpec, facts: EffectFacts): Record<string, unknown> {
  const body = { ...spec.body };
  const mk = spec.fill?.messageKey;
  if (mk && facts.message) {
    const k = messageKey(facts.message.uid, facts.message.timestamp);
    if (mk.seq) body[mk.seq] = k.seq;
    if (mk.random) body[mk.random] = k.random;
    if (mk.time) body[mk.time] = k.time;
    if (mk.key) body[mk.key] = k.key;
  }
  if (spec.fill?.messageSeq && facts.message) body[spec.fill.messageSeq] = facts.message.seq;
  const mi = spec.fill?.messageIdentity;
  if (mi && facts.message) {
    if (mi.uid) body[mi.uid] = facts.message.uid;
    if (mi.timestamp) body[mi.timestamp] = facts.message.timestamp;
  }
  if (spec.fill?.groupSeq && facts.message?.groupSeq !== undefined) body[spec.fill.groupSeq] = facts.message.groupSeq;
  const og = spec.fill?.ownedGroups;
  if (og && facts.ownedGroups) body[og.field] = facts.ownedGroups(og.owner, og.type);
  const ur = spec.fill?.unreadOf;
  if (ur && facts.unread) body[ur.field] = facts.unread(ur.user);
  return body;
}
