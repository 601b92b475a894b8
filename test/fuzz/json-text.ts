/**
 * JSON text for fuzz inputs, with what JSON.stringify cannot write: raw fragments (nesting thousands
 * deep, `1e400`, `9223372036854775808`, duplicate keys) and references to fixture objects whose
 * values the server assigns (message uids), resolved when the text is built.
 */

/** A fragment written verbatim into the JSON text. `label` is how a failure report shows it. */
export class RawJson {
  constructor(
    readonly text: string,
    readonly label: string,
  ) {}

  toString(): string {
    return `raw(${this.label})`;
  }
}

/** A fixture value known only once the server runs (e.g. the uid of a fixture message). */
export class FixtureRef {
  constructor(
    readonly kind: 'message',
    readonly index: number,
    /** Written as a JSON string instead of a number. */
    readonly asString = false,
  ) {}

  toString(): string {
    return `<${this.kind}#${this.index}${this.asString ? ' as string' : ''}>`;
  }
}

/** An object written with one key twice: its own entries, then `key` again with `value`. */
export class WithDuplicate {
  constructor(
    readonly obj: Record<string, unknown>,
    readonly key: string,
    readonly value: unknown,
  ) {}

  toString(): string {
    return `dup(${JSON.stringify(this.key)})`;
  }
}

export type Resolver = (ref: FixtureRef) => unknown;

/** The JSON text of `v`; `undefined` members are left out (as JSON.stringify does). */
export function jsonText(v: unknown, resolve: Resolver = () => null): string {
  if (v instanceof RawJson) return v.text;
  if (v instanceof FixtureRef) {
    const x = resolve(v);
    return JSON.stringify(v.asString && typeof x === 'number' ? String(x) : x) ?? 'null';
  }
  if (v instanceof WithDuplicate) {
    const inner = jsonText(v.obj, resolve);
    const extra = `${JSON.stringify(v.key)}:${jsonText(v.value, resolve)}`;
    return inner === '{}' ? `{${extra},${extra}}` : `${inner.slice(0, -1)},${extra}}`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : jsonText(x, resolve))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(`${JSON.stringify(k)}:${jsonText(x, resolve)}`);
    return `{${parts.join(',')}}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return 'null';
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? 'null';
}

/** An object with one own property, whatever its key (`__proto__` included). */
export function ownProperty(key: string, value: unknown): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  return o;
}
