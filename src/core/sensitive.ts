/**
 * Sensitive-word matching, Wildfire's way (its SensitiveFilter with MAX_MATCH): words are compared
 * case-insensitively (each code point lower-cased), scanning the text left to right; at each position
 * the longest word starting there matches, and scanning resumes after it. A filter is immutable: a
 * change of the word list builds a new one.
 */

/** What replaces each matched word (Wildfire's sensitive.filter.type 2 replaces with "***"). */
export const SENSITIVE_MASK = '***';

interface Node {
  next: Map<string, Node>;
  /** A word ends here. */
  end: boolean;
}

/** Code points of `s`, each lower-cased on its own (so positions in the text map one to one). */
function lowered(s: string): string[] {
  return Array.from(s, (c) => c.toLowerCase());
}

export class SensitiveFilter {
  private readonly root: Node = { next: new Map(), end: false };
  readonly size: number;

  constructor(words: Iterable<string>) {
    let n = 0;
    for (const w of words) {
      const cps = lowered(w);
      if (cps.length === 0) continue;
      let node = this.root;
      for (const c of cps) {
        let child = node.next.get(c);
        if (!child) {
          child = { next: new Map(), end: false };
          node.next.set(c, child);
        }
        node = child;
      }
      if (!node.end) n++;
      node.end = true;
    }
    this.size = n;
  }

  /** Matched spans as [start, end) code-point indexes of `chars`, in order, not overlapping. */
  private spans(chars: string[]): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    if (this.size === 0) return out;
    const low = chars.map((c) => c.toLowerCase());
    for (let i = 0; i < low.length; ) {
      let node: Node | undefined = this.root;
      let best = 0;
      for (let j = i; j < low.length; j++) {
        node = node.next.get(low[j]!);
        if (!node) break;
        if (node.end) best = j + 1 - i;
      }
      if (best > 0) {
        out.push([i, i + best]);
        i += best;
      } else i++;
    }
    return out;
  }

  /** The distinct words found in `text` (as they appear there, lower-cased). */
  matches(text: string): string[] {
    const chars = Array.from(text);
    const found = new Set<string>();
    for (const [s, e] of this.spans(chars)) found.add(chars.slice(s, e).join('').toLowerCase());
    return [...found];
  }

  /** `text` with every matched word replaced by SENSITIVE_MASK, or null when nothing matched. */
  mask(text: string): string | null {
    const chars = Array.from(text);
    const spans = this.spans(chars);
    if (spans.length === 0) return null;
    let out = '';
    let at = 0;
    for (const [s, e] of spans) {
      out += chars.slice(at, s).join('') + SENSITIVE_MASK;
      at = e;
    }
    return out + chars.slice(at).join('');
  }
}
