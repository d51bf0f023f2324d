/**
 * A function's secret values masked in what it logs (red team round 47; docs/secrets.md, "In
 * logs"): a `viewer` reads a function's logs, run records and errors but never its secrets, yet a
 * line that printed one (a connection string in a traceback, a client library's debug line with an
 * `Authorization` header, `print(os.environ)`) stored it in clear for every viewer to read. The pool
 * replaces each secret's value, where it appears whole in a log line or an error's message and
 * stack, by `[secret NAME]` before the line is kept, published live or recorded.
 *
 * Only whole values of at least MIN_MASKED_CHARS characters: a shorter secret (`1`, `true`) would
 * mask every such word of every line. A value transformed before printing (base64, URL-encoded, cut)
 * is not recognized; masking is a guard against printing by accident, not against code that means
 * to reveal its secrets (whoever deploys code can print them any way).
 *
 * One pass over the text whatever the number of secrets (Aho-Corasick over UTF-16 code units): a
 * search per secret cost up to 1.2 s of the platform's event loop per call of 512 KiB of lines with
 * 1024 secrets (the most a function may hold) sharing a prefix with what it printed.
 */

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
export type SecretMask = (text: string, cuts?: readonly Cut[]) => string;

/**
 * The mask of `secrets` (name → value), or null when none is long enough to be masked. A value of
 * several lines (a PEM key, a pretty-printed JSON credential) is also masked line by line: `print`
 * writes each of its lines as a log line of its own, where the whole value is never found (red team
 * round 48: a private key printed by accident was kept in clear).
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
  let automaton: Automaton | null = null; // built at the first line: most functions print no line
  return (text, cuts) => (automaton ??= new Automaton(named)).mask(text, cuts);
}

const VALUE_LINE_BREAK = /\r\n|\r|\n/;

/**
 * The values' trie with failure links; `longest[node]`: the longest value that ends there (its
 * index), or -1. Edges: the root's in a table by ASCII code (a Map for others), a node's only child in `unit`/`only`
 * (most nodes: a value's tail), more children in a Map of the node's. Small numbers throughout,
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
    const children: Map<number, number>[] = [new Map()];
    const ends: number[] = [-1];
    for (const [p, [, value]] of named.entries()) {
      let node = 0;
      for (let i = 0; i < value.length; i++) {
        const unit = value.charCodeAt(i);
        let next = children[node]!.get(unit);
        if (next === undefined) {
          children[node]!.set(unit, next = children.push(new Map()) - 1);
          ends.push(-1);
        }
        node = next;
      }
      if (ends[node] === -1) ends[node] = p; // the same value twice: the first name
    }
    this.unit = new Int32Array(ends.length).fill(-1);
    this.only = new Int32Array(ends.length);
    for (const [node, edges] of children.entries()) {
      if (node === 0) {
        for (const [unit, child] of edges) {
          if (unit < 128) this.ascii[unit] = child;
          else this.root.set(unit, child);
        }
      } else if (edges.size === 1) for (const [unit, child] of edges) [this.unit[node], this.only[node]] = [unit, child];
      else if (edges.size > 1) this.many.set(node, edges);
    }
    this.fail = new Int32Array(ends.length);
    this.longest = Int32Array.from(ends);
    // Breadth first: a node's failure is shallower than it.
    const queue = [0];
    for (let at = 0; at < queue.length; at++) {
      const node = queue[at]!;
      for (const [unit, child] of children[node]!) {
        this.fail[child] = node === 0 ? 0 : this.step(this.fail[node]!, unit);
        if (this.longest[child] === -1) this.longest[child] = this.longest[this.fail[child]!]!;
        queue.push(child);
      }
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
   * `text` with every value found masked. Found at its end, the longest value ending there; one that
   * overlaps the last masked span joins it (named by the later value): no value is left whole.
   * Within `longestValue - 1` characters of a cut's mark, only the masks are kept (SecretMask).
   */
  mask(text: string, cuts?: readonly Cut[]): string {
    const spans: [start: number, end: number, value: number][] = [];
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      state = this.step(state, text.charCodeAt(i));
      const p = this.longest[state]!;
      if (p === -1) continue;
      const start = i + 1 - this.lengths[p]!;
      while (spans.length > 0 && start <= spans[spans.length - 1]![0]) spans.pop();
      const last = spans[spans.length - 1];
      if (last !== undefined && start < last[1]) spans[spans.length - 1] = [last[0], i + 1, p];
      else spans.push([start, i + 1, p]);
    }
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
