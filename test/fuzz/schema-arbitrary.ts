import fc from 'fast-check';
import { hostileString, NUMERIC_STRINGS } from './arbitraries.js';
import { FX, type Pools } from './fixtures.js';
import { FixtureRef } from './json-text.js';

/**
 * Valid-shaped values from a JSON schema (as the server publishes them at /docs/json: OpenAPI 3.0
 * flavour, `nullable`, `anyOf`, `enum`), with strings and integers drawn from the fixture pools by
 * the field's name, so that generated requests get past "unknown user" into the work a route does.
 * `happy` (0..1) is how often a field takes the value most likely to make the request succeed
 * (the fixture group's owner as operator, its members as members…).
 */

export interface JsonSchema {
  type?: string | string[];
  nullable?: boolean;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
}

export interface GenContext {
  pools: Pools;
  happy: number;
}

const USER_FIELDS = new Set(['userid', 'operator', 'sender', 'owner', 'new_owner', 'member_id', 'first', 'members', 'targets', 'receivers', 'tousers', 'mentionedtarget']);
const GROUP_FIELDS = new Set(['group_id', 'groupid', 'target_id']);
const CHANNEL_FIELDS = new Set(['channelid', 'targetid']);
const CLIENT_FIELDS = new Set(['clientid', 'second']);
const TIME_FIELDS = new Set(['timestamp', 'starttime', 'endtime', 'updatetimestamp', 'updatedt']);

/** The value most likely to succeed for a field, if the field is one the fixtures speak to. */
function happyValue(field: string): unknown {
  switch (field.toLowerCase()) {
    case 'operator':
    case 'sender':
    case 'owner':
    case 'first':
      return FX.owner;
    case 'userid':
      // Not the owner: user/destroy and update_block_status take it too.
      return FX.outsider;
    case 'new_owner':
    case 'member_id':
    case 'members':
    case 'targets':
    case 'receivers':
    case 'tousers':
    case 'mentionedtarget':
      return FX.member1;
    case 'group_id':
    case 'groupid':
      return FX.group;
    case 'channelid':
      return FX.channel;
    case 'conv':
    case 'conversation':
      // Merged into a generated conversation (so its other fields still vary).
      return { type: 1, target: FX.group, line: 0 };
    case 'payload':
      return { type: 1, searchableContent: 'fuzz', persistFlag: 3 };
    case 'clientid':
    case 'second':
      return FX.client;
    default:
      return undefined;
  }
}

function poolArb(field: string, pools: Pools): fc.Arbitrary<unknown> | undefined {
  const f = field.toLowerCase();
  if (USER_FIELDS.has(f)) return fc.constantFrom(...pools.users);
  if (GROUP_FIELDS.has(f)) return fc.constantFrom(...pools.groups);
  if (CHANNEL_FIELDS.has(f)) return fc.constantFrom(...pools.channels);
  if (CLIENT_FIELDS.has(f)) return fc.constantFrom(...pools.clients);
  if (f === 'target') return fc.constantFrom(...pools.users, ...pools.groups, ...pools.channels);
  if (f === 'name' || f === 'displayname') return fc.constantFrom(...pools.names);
  if (f === 'email') return fc.constantFrom(...pools.emails);
  if (f === 'mobile') return fc.constantFrom(...pools.mobiles);
  if (f === 'url' || f === 'callback') return fc.constantFrom(...pools.urls);
  if (f === 'id') return fc.constantFrom(...pools.callbackTargets);
  if (f === 'base64eddata') return fc.base64String({ maxLength: 64 });
  if (f === 'value') return fc.constantFrom('0', '1', '2', '8', '1000000', '1000001', ...NUMERIC_STRINGS);
  if (f === 'messageuid' || f === 'msgkey') {
    return fc.tuple(fc.nat({ max: pools.messages - 1 }), fc.boolean()).map(([i, s]) => new FixtureRef('message', i, s));
  }
  return undefined;
}

function nearNow(): fc.Arbitrary<number> {
  const now = Date.now();
  return fc.integer({ min: now - 86_400_000, max: now + 10_000 });
}

function integerArb(s: JsonSchema, field: string): fc.Arbitrary<number> {
  const min = s.minimum ?? Number.MIN_SAFE_INTEGER;
  const max = s.maximum ?? Number.MAX_SAFE_INTEGER;
  const inRange = (xs: number[]) => xs.filter((x) => x >= min && x <= max);
  const f = field.toLowerCase();
  const likely =
    f === 'type' || f === 'conversationtype'
      ? [0, 1, 2, 3]
      : f === 'line'
        ? [0, 1]
        : f === 'persistflag'
          ? [0, 1, 3, 4]
          : f === 'status' || f === 'subscribe' || f === 'distribute' || f === 'auto'
            ? [0, 1, 2]
            : [0, 1, 2, 3, 8, 100];
  const options: Array<fc.WeightedArbitrary<number>> = [];
  const likelyIn = inRange(likely);
  if (likelyIn.length > 0) options.push({ arbitrary: fc.constantFrom(...likelyIn), weight: 5 });
  options.push({ arbitrary: fc.constantFrom(...inRange([min, max, min + 1, max - 1, 0, -1]).concat([min])), weight: 2 });
  options.push({ arbitrary: fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max: Math.min(max, Number.MAX_SAFE_INTEGER) }), weight: 2 });
  if (TIME_FIELDS.has(f)) options.push({ arbitrary: nearNow().filter((x) => x >= min && x <= max), weight: 6 });
  return fc.oneof(...options);
}

function stringArb(s: JsonSchema, field: string, ctx: GenContext): fc.Arbitrary<unknown> {
  const minLength = s.minLength ?? 0;
  const maxLength = s.maxLength ?? 4096;
  const fits = (x: unknown) => typeof x !== 'string' || (x.length >= minLength && x.length <= maxLength);
  if (s.pattern) {
    const re = new RegExp(s.pattern);
    const pool = poolArb(field, ctx.pools);
    const matching = fc.stringMatching(re).filter((x) => x.length >= minLength && x.length <= maxLength);
    return pool ? fc.oneof(pool, matching) : matching;
  }
  const options: Array<fc.WeightedArbitrary<unknown>> = [];
  const pool = poolArb(field, ctx.pools);
  if (pool) options.push({ arbitrary: pool.filter(fits), weight: 6 });
  options.push({ arbitrary: fc.string({ minLength, maxLength: Math.max(minLength, Math.min(maxLength, 12)) }), weight: 3 });
  options.push({ arbitrary: hostileString.filter(fits), weight: 1 });
  options.push({ arbitrary: fc.constantFrom(...NUMERIC_STRINGS).filter(fits), weight: 1 });
  return fc.oneof(...options);
}

/** The branch of a union that describes `v` (by JSON type), else the first. */
export function branchFor(s: JsonSchema, v: unknown): JsonSchema {
  const branches = s.anyOf ?? s.oneOf;
  if (!branches) return s;
  const t = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
  const hit = branches.find((b) => {
    const r = branchFor(b, v);
    const bt = Array.isArray(r.type) ? r.type : [r.type];
    return bt.includes(t) || (t === 'integer' && bt.includes('number'));
  });
  return branchFor(hit ?? branches[0]!, v);
}

/** A value valid for `s` (schema-wise), named `field` in its parent. */
export function validArb(s: JsonSchema, field: string, ctx: GenContext): fc.Arbitrary<unknown> {
  const base = validNonNull(s, field, ctx);
  const happy = happyValue(field);
  const weights = { happy: Math.round(ctx.happy * 10), other: Math.max(1, Math.round((1 - ctx.happy) * 10)) };
  let withHappy = base;
  if (happy !== undefined && ctx.happy > 0) {
    if (s.type === 'string' || (s.type === 'array' && s.items?.type === 'string')) {
      withHappy = fc.oneof({ arbitrary: fc.constant(s.type === 'array' ? [happy] : happy), weight: weights.happy }, { arbitrary: base, weight: weights.other });
    } else if (s.type === 'object' && typeof happy === 'object') {
      const merged = base.map((v) => (v !== null && typeof v === 'object' ? { ...(v as Record<string, unknown>), ...(happy as Record<string, unknown>) } : v));
      withHappy = fc.oneof({ arbitrary: merged, weight: weights.happy }, { arbitrary: base, weight: weights.other });
    }
  }
  return s.nullable ? fc.oneof({ arbitrary: withHappy, weight: 9 }, { arbitrary: fc.constant(null), weight: 1 }) : withHappy;
}

function validNonNull(s: JsonSchema, field: string, ctx: GenContext): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const branches = s.anyOf ?? s.oneOf;
  if (branches) return fc.oneof(...branches.map((b) => validArb(b, field, ctx)));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props = s.properties ?? {};
      const keys = Object.keys(props);
      if (keys.length === 0) return fc.constant({});
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const k of keys) model[k] = validArb(props[k]!, k, ctx);
      return fc.record(model, { requiredKeys: s.required ?? [], noNullPrototype: true });
    }
    case 'array': {
      const item = s.items ?? {};
      return fc.array(validArb(item, field, { ...ctx, happy: ctx.happy / 2 }), {
        minLength: s.minItems ?? 0,
        maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 4, 4)),
      });
    }
    case 'string':
      return stringArb(s, field, ctx);
    case 'integer':
      return integerArb(s, field);
    case 'number':
      return fc.oneof(integerArb(s, field), fc.double({ noNaN: true, noDefaultInfinity: true, min: s.minimum, max: s.maximum }));
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}
