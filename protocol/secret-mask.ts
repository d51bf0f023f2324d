/**
 * A function's secret values masked in what it logs (red team round 47; docs/secrets.md, "In
 * logs"): a `viewer` reads a function's logs, run records and errors but never its secrets, yet a
 * line that printed one (a connection string in a traceback, a client library's debug line with an
 * `Authorization` header, `print(os.environ)`) stored it in clear for every viewer to read. The pool
 * replaces each secret's value, where it appears whole in a log line or an error's message and
 * stack, by `[secret NAME]` before the line is kept, published live or recorded.
 *
 * Only whole values of at least MIN_MASKED_CHARS characters: a shorter secret (`1`, `true`) would
 * mask every such word of every line. A value of at least MIN_ENCODED_BYTES is masked in its
 * common encodings too (ADR 0258: base64 and base64url at any offset, hex, URL-encoded), and a value
 * split over lines the runtime sent together (`SecretMask.lines`). Other transformations (reversed,
 * sliced, encrypted) are not recognized: masking is a guard against printing by accident, not
 * against code that means to reveal its secrets (whoever deploys code can print them any way).
 *
 * One pass over the text whatever the number of secrets and forms (Aho-Corasick over UTF-16 code
 * units): a search per secret cost up to 1.2 s of the platform's event loop per call of 512 KiB of
 * lines with 1024 secrets (the most a function may hold) sharing a prefix with what it printed.
 */
import { encodedForms, MAX_ENCODED_UNITS, MIN_ENCODED_BYTES, normalizeUnit } from './secret-forms.js';

export { MAX_ENCODED_UNITS, MIN_ENCODED_BYTES };

/** Secret values shorter than this are not masked. */
export const MIN_MASKED_CHARS = 6;

/** Where the runtime cut a text: its mark's [start, end) (./runtime-reports.ts `lineCuts`, `errorCuts`). */
export type Cut = readonly [start: number, end: number];

/**
 * Masks the secrets' values in a text (the text itself when it holds none). `cuts`: the marks where
 * the runtime cut the text before the platform saw it (a line past the call's log budget, an error
 * text past 64 Ki characters): a value it cut through is no longer whole, and its kept part was in
 * clear (red team round 48). So the text within one value's length less one character of a mark is
 * dropped, found value or not (a mask only where a value's part is found would tell its prefixes to
 * a caller whose input the function logs), except the whole values masked there.
 */
export interface SecretMask {
  (text: string, cuts?: readonly Cut[]): string;
  /**
   * Lines the runtime sent in a row on one stream, masked as one text and cut back into the lines
   * (`cuts[i]`: line i's): a value split over two of them (`print(key[:9] + "\n" + key[9:])`, one
   * write that the runtime splits at its newline) is masked in each, `[secret NAME]` in both.
   */
  lines(texts: readonly string[], cuts: readonly (readonly Cut[] | undefined)[]): string[];
}

/**
 * The mask of `secrets` (name → value), or null when none is long enough to be masked. A value of
 * several lines (a PEM key, a pretty-printed JSON credential) is also masked line by line: `print`
 * writes each of its lines as a log line of its own, where the whole value is never found (red team
 * round 48: a private key printed by accident was kept in clear). Its encoded forms too, for values
 * of at least MIN_ENCODED_BYTES while they fit MAX_ENCODED_UNITS, shortest first (./secret-forms.ts).
 */
export function secretMask(secrets: Readonly<Record<string, string>> | undefined): SecretMask | null {
  if (secrets === undefined) return null;
  const named: [string, string][] = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (value.length >= MIN_MASKED_CHARS) named.push([name, value]);
    if (!VALUE_LINE_BREAK.test(value)) continue;
    for (const line of value.split(VALUE_LINE_BREAK)) if (line.length >= MIN_MASKED_CHARS) named.push([name, line]);
  }
  if (named.length === 0) return null;
  let encoded = 0;
  for (const [name, value] of Object.entries(secrets).sort((a, b) => a[1].length - b[1].length)) {
    const forms = encodedForms(value);
    const units = forms.reduce((sum, form) => sum + form.length, 0);
    if (encoded + units > MAX_ENCODED_UNITS) break;
    encoded += units;
    for (const form of forms) named.push([name, form]);
  }
  let automaton: Automaton | null = null; // built at the first line: most functions print no line
  const build = (): Automaton => (automaton ??= new Automaton(named));
  const mask = (text: string, cuts?: readonly Cut[]): string => build().lines([text], [cuts])[0]!;
  mask.lines = (texts: readonly string[], cuts: readonly (readonly Cut[] | undefined)[]): string[] => build().lines(texts, cuts);
  return mask;
}

const VALUE_LINE_BREAK = /\r\n|\r|\n/;

/**
 * The values' trie with failure links; `longest[node]`: the longest value that ends there (its
 * index), or -1. Edges: the root's in a table by ASCII code (a Map for others), a node's first child in `unit`/`only`
 * (most nodes have one: a value's tail), more children in a Map of the node's. Small numbers throughout,
 * so a step is an array read (a Map of `node * 65536 + unit` keys was ~130 ns a character).
 */
class Automaton {
  private readonly ascii = new Int32Array(128);
  private readonly root = new Map<number, number>();
  private readonly unit: Int32Array;
  private readonly only: Int32Array;
  private readonly many = new Map<number, Map<number, number>>();
  private readonly fail: Int32Array;
  private readonly longest: Int32Array;
  private readonly lengths: number[];
  private readonly markers: string[];
  /** The longest value's length: a value the runtime cut kept at most one less on each side of the mark. */
  private readonly longestValue: number;

  constructor(named: readonly (readonly [string, string])[]) {
    this.lengths = named.map(([, v]) => v.length);
    this.markers = named.map(([name]) => `[secret ${name}]`);
    this.longestValue = this.lengths.reduce((a, b) => Math.max(a, b), 0);
    // Built in place, in arrays as long as the values (a node per unit at most): a Map per node (the
    // first version) took 0.5 s and 18 MB for 64 KiB of values.
    const size = named.reduce((sum, [, value]) => sum + value.length, 1);
    this.unit = new Int32Array(size).fill(-1);
    this.only = new Int32Array(size);
    this.longest = new Int32Array(size).fill(-1);
    this.fail = new Int32Array(size);
    let nodes = 1;
    for (const [p, [, value]] of named.entries()) {
      let node = 0;
      for (let i = 0; i < value.length; i++) {
        const u = normalizeUnit(value.charCodeAt(i));
        let next = this.edge(node, u);
        if (next === 0) {
          next = nodes++;
          if (node === 0 && u < 128) this.ascii[u] = next;
          else if (node === 0) this.root.set(u, next);
          else if (this.unit[node] === -1) {
            this.unit[node] = u;
            this.only[node] = next;
          } else {
            const more = this.many.get(node);
            if (more === undefined) this.many.set(node, new Map([[u, next]]));
            else more.set(u, next);
          }
        }
        node = next;
      }
      if (this.longest[node] === -1) this.longest[node] = p; // the same value twice: the first name
    }
    // Breadth first: a node's failure is shallower than it.
    const queue = new Int32Array(nodes);
    let queued = 1;
    const visit = (node: number, u: number, next: number): void => {
      this.fail[next] = node === 0 ? 0 : this.step(this.fail[node]!, u);
      if (this.longest[next] === -1) this.longest[next] = this.longest[this.fail[next]!]!;
      queue[queued++] = next;
    };
    for (let at = 0; at < queued; at++) {
      const node = queue[at]!;
      if (node === 0) {
        for (let u = 0; u < 128; u++) if (this.ascii[u] !== 0) visit(0, u, this.ascii[u]!);
        for (const [u, next] of this.root) visit(0, u, next);
        continue;
      }
      if (this.unit[node] !== -1) visit(node, this.unit[node]!, this.only[node]!);
      for (const [u, next] of this.many.get(node) ?? []) visit(node, u, next);
    }
  }

  private edge(node: number, unit: number): number {
    if (node === 0) return unit < 128 ? this.ascii[unit]! : this.root.get(unit) ?? 0;
    if (this.unit[node] === unit) return this.only[node]!;
    return this.many.get(node)?.get(unit) ?? 0;
  }

  private step(state: number, unit: number): number {
    let s = state;
    for (;;) {
      const next = this.edge(s, unit);
      if (next !== 0 || s === 0) return next;
      s = this.fail[s]!;
    }
  }

  /**
   * `texts` with every value found masked, found in them as one text (no separator: a value split
   * between two is found). Found at its end, the longest value ending there; one that overlaps the
   * last masked span joins it (named by the later value): no value is left whole. A span over two
   * texts is a mask in each. Within `longestValue - 1` characters of a cut's mark, only the masks are
   * kept (SecretMask), in that text only.
   */
  lines(texts: readonly string[], cuts: readonly (readonly Cut[] | undefined)[]): string[] {
    const spans: Span[] = [];
    let state = 0;
    let offset = 0;
    for (const text of texts) {
      for (let i = 0; i < text.length; i++) {
        state = this.step(state, normalizeUnit(text.charCodeAt(i)));
        const p = this.longest[state]!;
        if (p === -1) continue;
        const end = offset + i + 1;
        const start = end - this.lengths[p]!;
        while (spans.length > 0 && start <= spans[spans.length - 1]![0]) spans.pop();
        const last = spans[spans.length - 1];
        if (last !== undefined && start < last[1]) spans[spans.length - 1] = [last[0], end, p];
        else spans.push([start, end, p]);
      }
      offset += text.length;
    }
    if (spans.length === 0 && cuts.every((c) => c === undefined || c.length === 0)) return texts.slice();
    const out: string[] = [];
    let first = 0; // the first span that does not end before the text
    offset = 0;
    for (const [k, text] of texts.entries()) {
      const end = offset + text.length;
      while (first < spans.length && spans[first]![1] <= offset) first++;
      const local: Span[] = [];
      for (let q = first; q < spans.length && spans[q]![0] < end; q++) {
        const [s, e, p] = spans[q]!;
        if (e > offset) local.push([Math.max(s, offset) - offset, Math.min(e, end) - offset, p]);
      }
      out.push(this.masked(text, local, cuts[k]));
      offset = end;
    }
    return out;
  }

  /** `text` with its `spans` masked and the text near its `cuts` dropped. */
  private masked(text: string, spans: readonly Span[], cuts: readonly Cut[] | undefined): string {
    if (spans.length === 0 && (cuts === undefined || cuts.length === 0)) return text;
    const reach = this.longestValue - 1;
    const dropped: Cut[] = (cuts ?? []).flatMap(([start, end]): Cut[] => [[Math.max(0, start - reach), start], [end, Math.min(text.length, end + reach)]]).sort((a, b) => a[0] - b[0]);
    const kept = (from: number, to: number): string => {
      let out = '';
      let at = from;
      for (const [start, end] of dropped) {
        if (end <= at || start >= to) continue;
        if (start > at) out += text.slice(at, start);
        at = Math.max(at, end);
      }
      return at < to ? out + text.slice(at, to) : out;
    };
    let out = '';
    let from = 0;
    for (const [start, end, p] of spans) {
      out += kept(from, start) + this.markers[p]!;
      from = end;
    }
    return out + kept(from, text.length);
  }
}

/** A masked span of the text: [start, end) and the value found there (its index). */
type Span = [start: number, end: number, value: number];
