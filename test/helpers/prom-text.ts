/**
 * A strict reader of the Prometheus text exposition format 0.0.4 (what `/metrics` serves), for
 * tests: it throws on anything a Prometheus server would refuse or that breaks the format's rules
 * (prom-client has no parser of its own). Checked: line syntax (names, label names, escapes in
 * label values and HELP, float values as Go's ParseFloat reads them, optional timestamp); one HELP and one TYPE
 * per family, before its samples; a family's samples contiguous; sample names that fit the type
 * (`_bucket`/`_sum`/`_count` for histograms, `_sum`/`_count`/quantiles for summaries); no series
 * twice; histogram buckets cumulative, sorted by `le`, ending at `+Inf` equal to `_count`.
 * Plus this project's naming rules (`fp_` counters end in `_total`).
 */

export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  /** The sample's own name (`x_bucket`, `x_sum`, … for histograms). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: PromType;
  help: string;
  samples: PromSample[];
}

export type Exposition = Map<string, PromFamily>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<PromType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function fail(lineNo: number, line: string, why: string): never {
  throw new Error(`metrics line ${lineNo}: ${why}: ${JSON.stringify(line)}`);
}

/**
 * A value as Go's strconv.ParseFloat reads it (what the format specifies): decimal floats, and NaN
 * and [±]Inf[inity] in any case (prom-client writes `Nan`; Prometheus accepts it).
 */
function parseValue(text: string, lineNo: number, line: string): number {
  if (/^nan$/i.test(text)) return NaN;
  const inf = /^([-+]?)inf(inity)?$/i.exec(text);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail(lineNo, line, `bad value ${text}`);
  return Number(text);
}

/** Reads `{a="x",b="y"}` starting at `at` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, at: number, lineNo: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = at + 1;
  for (;;) {
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    if (eq < 0) fail(lineNo, line, 'label without =');
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) fail(lineNo, line, `bad label name ${name}`);
    if (name in labels) fail(lineNo, line, `label ${name} twice`);
    if (line[eq + 1] !== '"') fail(lineNo, line, 'label value not quoted');
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      const c = line[j];
      if (c === undefined) fail(lineNo, line, 'unterminated label value');
      if (c === '"') break;
      if (c === '\\') {
        const next = line[++j];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else fail(lineNo, line, `bad escape \\${next ?? ''}`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') fail(lineNo, line, 'expected , or }');
  }
}

function unescapeHelp(text: string, lineNo: number, line: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => (c === '\\' ? '\\' : c === 'n' ? '\n' : fail(lineNo, line, `bad escape in HELP \\${c}`)));
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(sample: string, declared: Map<string, PromFamily>): PromFamily | undefined {
  const own = declared.get(sample);
  if (own) return own;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const f = declared.get(sample.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

/** Parses and checks a whole exposition; throws an Error naming the first problem. */
export function parseExposition(text: string): Exposition {
  if (text !== '' && !text.endsWith('\n')) throw new Error('metrics: the exposition must end with a newline');
  const families: Exposition = new Map();
  /** HELP and TYPE lines seen per family. */
  const declared = new Map<string, Set<string>>();
  const finished = new Set<string>();
  const seen = new Set<string>();
  let current: PromFamily | null = null;
  const lines = text.split('\n');
  lines.pop();
  for (const [index, line] of lines.entries()) {
    const lineNo = index + 1;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (!METRIC_NAME.test(name)) fail(lineNo, line, `bad metric name ${name}`);
      let family = families.get(name);
      if (family && finished.has(name)) fail(lineNo, line, `${kind} for ${name} after its samples`);
      if (!family) {
        if (current) finished.add(current.name);
        family = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, family);
        declared.set(name, new Set());
        current = family;
      }
      const kinds = declared.get(name)!;
      if (kinds.has(kind)) fail(lineNo, line, `second ${kind} for ${name}`);
      kinds.add(kind);
      if (kind === 'HELP') family.help = unescapeHelp(rest, lineNo, line);
      else {
        if (!TYPES.has(rest as PromType)) fail(lineNo, line, `unknown type ${rest}`);
        if (family.samples.length > 0) fail(lineNo, line, 'TYPE after samples');
        family.type = rest as PromType;
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) fail(lineNo, line, 'no value');
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) fail(lineNo, line, `bad metric name ${name}`);
    let labels: Record<string, string> = {};
    let rest = nameEnd;
    if (line[nameEnd] === '{') [labels, rest] = parseLabels(line, nameEnd, lineNo);
    const parts = line.slice(rest).trim().split(/ +/);
    if (line[rest] !== ' ' || parts.length < 1 || parts.length > 2) fail(lineNo, line, 'expected " value [timestamp]"');
    const value = parseValue(parts[0]!, lineNo, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) fail(lineNo, line, 'bad timestamp');
    const family = familyOf(name, families);
    if (!family) fail(lineNo, line, `sample of an undeclared family ${name}`);
    if (family !== current) fail(lineNo, line, `samples of ${family.name} are not contiguous`);
    if (family.type === 'histogram' && name === family.name) fail(lineNo, line, 'a histogram sample needs _bucket, _sum or _count');
    if (name.endsWith('_bucket') && family.type === 'histogram' && labels['le'] === undefined) fail(lineNo, line, '_bucket without le');
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) fail(lineNo, line, 'series twice');
    seen.add(key);
    if ((family.type === 'counter' || name.endsWith('_count') || name.endsWith('_bucket')) && !(value >= 0)) fail(lineNo, line, 'a counter must be ≥ 0');
    family.samples.push({ name, labels, value });
  }
  for (const family of families.values()) {
    if (family.help === '') throw new Error(`metrics: ${family.name} has no HELP`);
    if (family.name.startsWith('fp_') && family.type === 'counter' && !family.name.endsWith('_total')) throw new Error(`metrics: counter ${family.name} does not end in _total`);
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

/** Buckets per label set: sorted by le, cumulative, ending at +Inf = _count. */
function checkHistogram(family: PromFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  const keyOf = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
  for (const s of family.samples) {
    const g = groups.get(keyOf(s.labels)) ?? { buckets: [] };
    groups.set(keyOf(s.labels), g);
    if (s.name.endsWith('_bucket')) g.buckets.push([parseValue(s.labels['le']!, 0, s.labels['le']!), s.value]);
    else if (s.name.endsWith('_count')) g.count = s.value;
  }
  for (const [key, g] of groups) {
    const where = `${family.name}${key}`;
    if (g.buckets.length === 0 || g.count === undefined) throw new Error(`metrics: ${where} lacks buckets or _count`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`metrics: ${where} buckets not sorted by le`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`metrics: ${where} buckets not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1]!;
    if (last[0] !== Infinity || last[1] !== g.count) throw new Error(`metrics: ${where} has no +Inf bucket equal to _count`);
  }
}

/** The value of one series (`name` is the sample name), or undefined when it is not exposed. */
export function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of exposition.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(labels);
      if (keys.every((k) => s.labels[k] === labels[k]) && Object.keys(s.labels).length === keys.length) return s.value;
    }
  }
  return undefined;
}

/** The sum of the series of `name` whose labels include `labels` (0 when none). */
export function sumOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const family of exposition.values()) {
    for (const s of family.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/**
 * Fetches `<url>/metrics` and parses it strictly. A platform over a store serves the per-function
 * series only with a token (docs/adr/0036-metrics-scope.md): pass the root token for all of them.
 */
export async function scrape(url: string, token?: string | null): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!/^text\/plain; version=0\.0\.4; charset=utf-8$/.test(type)) throw new Error(`/metrics content type ${type}`);
  return parseExposition(await res.text());
}
