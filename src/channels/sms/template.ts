/**
 * The JSON body template of the HTTP SMS provider: any JSON document whose string values may hold
 * placeholders `{{name}}`, replaced per message by the value (JSON-escaped as part of the string, so a
 * text with quotes or newlines can never break the document). Keys are left as written.
 */

/** The placeholders a template may use. */
export const SMS_PLACEHOLDERS = ['to', 'text', 'title', 'notification_id', 'user_id', 'delivery_id', 'attempt'] as const;
export type SmsPlaceholder = (typeof SMS_PLACEHOLDERS)[number];

export const DEFAULT_SMS_TEMPLATE = '{"to":"{{to}}","text":"{{text}}"}';

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

/** A checked template: render() fills it for one message. */
export class SmsBodyTemplate {
  private constructor(private readonly doc: unknown) {}

  /** Parse and check a template; throws an Error naming the problem (start-up stops on it). */
  static parse(text: string): SmsBodyTemplate {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error(`not valid JSON: ${(e as Error).message}`);
    }
    if (typeof doc !== 'object' || doc === null) throw new Error('must be a JSON object or array');
    const unknown = new Set<string>();
    walkStrings(doc, (s) => {
      for (const m of s.matchAll(PLACEHOLDER)) if (!(SMS_PLACEHOLDERS as readonly string[]).includes(m[1]!)) unknown.add(m[1]!);
      return s;
    });
    if (unknown.size > 0) throw new Error(`unknown placeholder(s) ${[...unknown].map((u) => `{{${u}}}`).join(', ')} (known: ${SMS_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`);
    return new SmsBodyTemplate(doc);
  }

  /** The JSON text of the body for these values. */
  render(values: Record<SmsPlaceholder, string>): string {
    return JSON.stringify(walkStrings(this.doc, (s) => s.replace(PLACEHOLDER, (_, name: string) => values[name as SmsPlaceholder] ?? '')));
  }
}

/** A copy of `v` with every string value mapped by `f` (object keys untouched). */
function walkStrings(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => walkStrings(x, f));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walkStrings(x, f);
    return out;
  }
  return v;
}
