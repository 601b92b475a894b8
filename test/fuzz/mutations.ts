import fc from 'fast-check';
import { HUGE_UNITS, NUMERIC_STRINGS, OUT_OF_RANGE, repeatTo, UNICODE_SAMPLES } from './arbitraries.js';
import { FixtureRef, ownProperty, RawJson, WithDuplicate } from './json-text.js';
import { branchFor, type JsonSchema } from './schema-arbitrary.js';

/**
 * Mutations of a valid-shaped value: each picks a site (a present node, or a field the schema knows
 * that is absent) and replaces it. Deterministic given the descriptor, so a seed replays them.
 */
export const MUTATION_KINDS = [
  'wrongType',
  'hugeString',
  'hugeArray',
  'deepNesting',
  'unicode',
  'outOfRange',
  'numericString',
  'null',
  'extraFields',
  'removeField',
  'duplicateKey',
  'empty',
] as const;

export type MutationKind = (typeof MUTATION_KINDS)[number];

export interface Mutation {
  kind: MutationKind;
  /** Site selector (modulo the number of sites). */
  at: number;
  /** Variant selector (size, form…), modulo the number of variants. */
  variant: number;
}

export interface MutationLimits {
  /** Largest huge string (characters). */
  maxStringChars: number;
  /** Largest huge array for a field named `to_lines`. */
  maxToLines: number;
}

export const DEFAULT_LIMITS: MutationLimits = { maxStringChars: Number.POSITIVE_INFINITY, maxToLines: Number.POSITIVE_INFINITY };

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({ kind: fc.constantFrom(...MUTATION_KINDS), at: fc.nat(), variant: fc.nat() });

/** No mutation a third of the time (valid shapes matter too), else one to three. */
export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.oneof(
  { arbitrary: fc.constant<Mutation[]>([]), weight: 1 },
  { arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }), weight: 2 },
);

export const HUGE_STRING_SIZES = [2_000, 70_000, 600_000, 1_100_000, 2_500_000];
export const HUGE_ARRAY_SIZES = [300, 3_000, 20_000, 60_000];
export const DEEP_LEVELS = [64, 1_000, 20_000, 200_000];

type Seg = string | number;

interface Site {
  path: Seg[];
  schema: JsonSchema | undefined;
  value: unknown;
  present: boolean;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawJson) && !(v instanceof FixtureRef) && !(v instanceof WithDuplicate);
}

/** Every node of `v` (depth first) and every field `schema` names that `v` lacks. */
function sites(v: unknown, schema: JsonSchema | undefined, path: Seg[] = [], out: Site[] = []): Site[] {
  const s = schema ? branchFor(schema, v) : undefined;
  out.push({ path, schema: s, value: v, present: true });
  if (Array.isArray(v)) {
    v.slice(0, 32).forEach((x, i) => sites(x, s?.items, [...path, i], out));
  } else if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) sites(x, s?.properties?.[k], [...path, k], out);
    for (const [k, ps] of Object.entries(s?.properties ?? {})) {
      if (!(k in v)) out.push({ path: [...path, k], schema: ps, value: undefined, present: false });
    }
  }
  return out;
}

/** A copy that shares nothing mutable with `v` (class instances are immutable and kept). */
function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(o, k, { value: clone(x), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

function setAt(root: unknown, path: Seg[], value: unknown): unknown {
  if (path.length === 0) return value;
  let cur = root as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  Object.defineProperty(cur, last, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

function removeAt(root: unknown, path: Seg[]): unknown {
  if (path.length === 0) return undefined;
  let cur = root as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (Array.isArray(cur) && typeof last === 'number') cur.splice(last, 1);
  else delete cur[last];
  return root;
}

function pick<T>(xs: readonly T[], variant: number): T {
  return xs[variant % xs.length]!;
}

/** Element `i` of a large valid array: distinct where the schema allows it. */
export function synth(schema: JsonSchema | undefined, i: number, variant: number): unknown {
  if (!schema) return i;
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return synth(branches.find((b) => b.type !== 'null' && !(b.enum && b.enum.length === 1 && b.enum[0] === null)) ?? branches[0], i, variant);
  if (schema.enum) return schema.enum[i % schema.enum.length];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? -1_000_000;
      const max = schema.maximum ?? 1_000_000;
      const span = max - min + 1;
      return min + ((variant * 7919 + i) % span);
    }
    case 'string': {
      if (schema.pattern && /^\^\[0-9\]/.test(schema.pattern)) return String(i + 1);
      const s = variant % 3 === 0 ? `x${i}` : variant % 3 === 1 ? 'fz-m1' : `é${i}`;
      return s.length >= (schema.minLength ?? 0) ? s : s.padEnd(schema.minLength ?? 0, 'x');
    }
    case 'boolean':
      return i % 2 === 0;
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const k of schema.required ?? []) o[k] = synth(schema.properties?.[k], i, variant);
      return o;
    }
    case 'array':
      return [synth(schema.items, i, variant)];
    default:
      return null;
  }
}

function wrongTypeValue(variant: number): unknown {
  return pick<unknown>(['x', 1, 1.5, -1, true, false, {}, [], { a: 1 }, [1, '2'], '1', 'true', 'null', '[]', '{}'], variant);
}

function deepValue(variant: number): RawJson {
  const n = pick(DEEP_LEVELS, variant);
  return variant % 2 === 0 ? new RawJson(`${'['.repeat(n)}${']'.repeat(n)}`, `[×${n}]`) : new RawJson(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`, `{"a":×${n}}`);
}

function extraFields(obj: Record<string, unknown>, variant: number): Record<string, unknown> {
  const add = (k: string, v: unknown) => Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  switch (variant % 6) {
    case 0:
      add('zz_unknown', 1);
      add('zz_other', { nested: [1, 2, 3] });
      break;
    case 1:
      add('__proto__', ownProperty('polluted', 'yes'));
      break;
    case 2:
      add('constructor', { prototype: { polluted: 'yes' } });
      break;
    case 3:
      for (let i = 0; i < 5000; i++) add(`k${i}`, i);
      break;
    case 4:
      add('', '');
      add('\u0000', 1);
      add('😀', '😀');
      break;
    default:
      add(repeatTo('k', 10_000), 1);
  }
  return obj;
}

/**
 * Apply `muts` in order to a copy of `value` (described by `schema`). Returns the mutated value and
 * one note per mutation saying what was done where (for failure reports).
 */
export function applyMutations(value: unknown, schema: JsonSchema, muts: readonly Mutation[], limits: MutationLimits = DEFAULT_LIMITS): { value: unknown; notes: string[] } {
  let root = clone(value);
  const notes: string[] = [];
  for (const m of muts) {
    const all = sites(root, schema);
    // The whole body one time in ten: replacing it hides every field-level mutation.
    const inner = all.slice(1);
    const site = m.at % 10 === 0 || inner.length === 0 ? all[0]! : inner[Math.floor(m.at / 10) % inner.length]!;
    const where = site.path.length === 0 ? '(body)' : site.path.join('.');
    const field = String([...site.path].reverse().find((x) => typeof x === 'string') ?? '');
    let next: unknown;
    switch (m.kind) {
      case 'wrongType':
        next = wrongTypeValue(m.variant);
        break;
      case 'hugeString': {
        const sizes = HUGE_STRING_SIZES.filter((n) => n <= limits.maxStringChars);
        const n = pick(sizes.length > 0 ? sizes : [1000], m.variant);
        const unit = pick(HUGE_UNITS, m.variant >> 3);
        next = repeatTo(unit, n);
        notes.push(`hugeString(${n}×${JSON.stringify(unit)}) at ${where}`);
        root = setAt(root, site.path, next);
        continue;
      }
      case 'hugeArray': {
        let n = pick(HUGE_ARRAY_SIZES, m.variant);
        if (field === 'to_lines') n = Math.min(n, limits.maxToLines);
        const itemSchema = site.schema?.type === 'array' || Array.isArray(site.value) ? site.schema?.items : undefined;
        const same = (m.variant >> 2) % 4 === 0;
        next = Array.from({ length: n }, (_, i) => synth(itemSchema, same ? 0 : i, m.variant));
        notes.push(`hugeArray(${n}${same ? ' equal' : ' distinct'} ${itemSchema ? 'valid' : 'junk'} items) at ${where}`);
        root = setAt(root, site.path, next);
        continue;
      }
      case 'deepNesting':
        next = deepValue(m.variant);
        break;
      case 'unicode':
        next = pick(UNICODE_SAMPLES, m.variant);
        break;
      case 'outOfRange':
        next = pick(OUT_OF_RANGE, m.variant);
        break;
      case 'numericString':
        next = pick(NUMERIC_STRINGS, m.variant);
        break;
      case 'null':
        next = null;
        break;
      case 'extraFields': {
        const target = isPlainObject(site.value) ? site : all[0]!;
        if (!isPlainObject(target.value)) {
          notes.push(`extraFields skipped (no object)`);
          continue;
        }
        extraFields(target.value, m.variant);
        notes.push(`extraFields#${m.variant % 6} at ${target.path.length === 0 ? '(body)' : target.path.join('.')}`);
        continue;
      }
      case 'removeField':
        if (!site.present || site.path.length === 0) {
          notes.push(`removeField skipped at ${where}`);
          continue;
        }
        root = removeAt(root, site.path);
        notes.push(`removeField ${where}`);
        continue;
      case 'duplicateKey': {
        const target = isPlainObject(site.value) ? site : all[0]!;
        if (!isPlainObject(target.value)) {
          notes.push(`duplicateKey skipped (no object)`);
          continue;
        }
        const keys = Object.keys(target.value);
        const key = keys.length > 0 ? pick(keys, m.variant) : 'dup';
        root = setAt(root, target.path, new WithDuplicate(target.value, key, wrongTypeValue(m.variant >> 3)));
        notes.push(`duplicateKey ${describeShort(key)} at ${target.path.length === 0 ? '(body)' : target.path.join('.')}`);
        continue;
      }
      case 'empty':
        next = pick<unknown>(['', [], {}, 0, false], m.variant);
        break;
    }
    root = setAt(root, site.path, next);
    notes.push(`${m.kind}(${describeShort(next)}) at ${where}`);
  }
  return { value: root, notes };
}

function describeShort(v: unknown): string {
  if (v instanceof RawJson) return v.label;
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
