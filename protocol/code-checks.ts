/**
 * The code checks `fastapi-platform validate` runs before an upload and the API's
 * `POST /api/v1/validate` runs for the console (docs/cli.md, docs/api.md "Validation"), in one
 * place: platform.yaml read with every problem at its line (the one zod schema,
 * ./manifest.ts), and the findings of runtime/validate.py (syntax, entrypoint contract, imports)
 * turned into the same problem list. Each side only runs validate.py its own way (the CLI on the
 * folder, the server on a private temporary copy with limits).
 *
 * `yaml` is loaded on first use, so services that import protocol but never read a manifest
 * (the gateway, the pool) do not pay for it.
 */
import { cronStepWarnings } from './cron-schedule.js';
import { ceilingIssues, type LimitCeilings } from './limit-ceilings.js';
import { isManifestError, MAX_MANIFEST_BYTES, parseManifest, type Manifest } from './manifest.js';
import { parseDurationMs, parseMemoryBytes } from './units.js';

export const MANIFEST_FILE = 'platform.yaml';
/** The entrypoint checked when platform.yaml does not name one. */
export const DEFAULT_ENTRYPOINT = 'main:handler';

/** `dotenv`: a line of the folder's .env that `dev` cannot read (cli/dotenv.ts). */
export type ProblemKind = 'manifest' | 'yaml' | 'files' | 'syntax' | 'entrypoint' | 'python' | 'dependencies' | 'dotenv';

export interface Problem {
  kind: ProblemKind;
  /** Relative to the function folder; null for the folder as a whole. */
  file: string | null;
  line?: number | null;
  column?: number | null;
  /** The manifest key path, for manifest problems. */
  path?: string;
  message: string;
}

export interface ManifestProblem extends Problem {
  kind: 'manifest' | 'yaml';
  file: string;
  line: number | null;
  column: number | null;
  /** Dotted key path (`limits.timeout`), empty for the document. */
  path: string;
}

export interface ManifestRead {
  /** The decoded document as written (human units, `${VAR}` unresolved): stored with the version. */
  raw: unknown;
  /** Parsed: defaults filled, units converted, `${VAR}` resolved; null when there are problems. */
  manifest: Manifest | null;
  problems: ManifestProblem[];
}

/** What runtime/validate.py reports (its JSON document). */
export interface PyFinding {
  file: string | null;
  line: number | null;
  column?: number | null;
  type?: string;
  message: string;
  /**
   * A warning that does not hold under some limits: `one-instance`, code whose sessions live in
   * one process (Socket.IO's long-polling), answered by `limits.concurrency` above 1 with
   * `limits.maxInstances: 1`; `long-timeout`, a WebSocket endpoint or a Server-Sent Events stream (its connections end at the
   * timeout), answered by a `limits.timeout` of LONG_TIMEOUT_MS or more; `triggers`, a FastAPI
   * app's `routes`, told for each trigger of the manifest whose call is not one of them; `env`,
   * answered by the function's env setting the variable `env` (a settings default made at import).
   */
  needs?: 'one-instance' | 'long-timeout' | 'triggers' | 'env';
  /** With `needs: env`: the environment variable whose value answers the warning. */
  env?: string;
  /**
   * With `needs: env`: true when `env` may be set in any case (a pydantic-settings field's, unless its
   * class says `case_sensitive=True`); absent for an `os.environ`/`os.getenv` lookup, whose names are
   * case-sensitive on Linux (`envSets`).
   */
  envAnyCase?: boolean;
  /** With `needs: triggers`: each route as `"<METHOD> <path>"`, and its line in `lines`. */
  routes?: string[];
  lines?: number[];
  /**
   * An import no declared requirement nor the runtime provides: its top-level module. Checked
   * before a dependency build against the declared names only; `deploy` holds these and checks
   * again with what its build installed (runtime/fp_deps/imports.py `undeclared`).
   */
  module?: string;
}

export interface PyEntrypoint {
  module: string;
  attr: string;
  file: string | null;
  line: number | null;
  /** `handler`, `asgi`, `assignment` (likely an app object), `class`, `import`, or `function` when its arity is wrong. */
  kind: string | null;
  async: boolean | null;
  arity: number | null;
  /** A FastAPI app's interactive docs path (`/docs`, or its `docs_url`); absent when off or not known. */
  docs?: string;
}

export interface PyReport {
  python: string;
  checked: number;
  syntaxErrors: PyFinding[];
  entrypoint: PyEntrypoint;
  problems: PyFinding[];
  warnings: PyFinding[];
  /** What requirements.txt / pyproject.toml declare (docs/dependencies.md), and what is wrong with them. */
  dependencies?: { declared: PyRequirement[]; problems: PyFinding[] };
  /** The dotenv files the code names (`env_file="../.env"`, `load_dotenv(...)`), as written. */
  envFiles?: string[];
}

export interface PyRequirement {
  /** Normalized distribution name. */
  name: string;
  /** The requirement as the builder hands it to pip: parsed and written out again, with its checked `--hash` options. */
  requirement: string;
  file: string;
  line: number | null;
}

/**
 * The first line after `line` (1-based) indented deeper than it, skipping blank and comment lines,
 * with its position: where a key was indented too far under a key that has a value.
 */
function deeperLineAfter(text: string, line: number): { pos: { line: number; col: number }; above: number } | null {
  const all = text.split('\n');
  const indent = (l: string) => l.length - l.trimStart().length;
  const base = all[line - 1];
  if (base === undefined) return null;
  for (let i = line; i < all.length; i++) {
    const l = all[i]!;
    if (l.trim() === '' || l.trim().startsWith('#')) continue;
    return indent(l) > indent(base) ? { pos: { line: i + 1, col: indent(l) + 1 }, above: line } : null;
  }
  return null;
}

/** Every `${VAR}` resolves (to an empty string): for checks where the deploying environment is not known (the server's). */
export const ANY_ENV: Record<string, string | undefined> = new Proxy({}, { get: (_t, key) => (typeof key === 'string' ? '' : undefined) });

/**
 * Parses manifest text. `env` resolves `${VAR}` references: the control plane stores env values
 * as given, so `deploy` resolves them from the environment the CLI runs in (an unset one without a
 * default is a problem); the server checks with ANY_ENV.
 */
export async function readManifestText(text: string, env: Record<string, string | undefined>, file = MANIFEST_FILE, options: { ceilings?: LimitCeilings } = {}): Promise<ManifestRead> {
  // The parser and toJS recurse per level on the platform's event loop: a deep document (10 KB of
  // `[`) overflowed its stack, and once the platform died of it (red team 3). Refused unparsed.
  const deep = deepestLine(text);
  if (deep !== null) {
    return { raw: null, manifest: null, problems: [{ kind: 'yaml', file, line: deep, column: 1, path: '', message: `nested deeper than ${MAX_YAML_NESTING} levels (indentation, \`- \`, \`? \`, \`: \`, brackets); a manifest needs a handful` }] };
  }
  // Red team 8: parsing is linear below (duplicate keys are found with a set, not yaml's pairwise
  // check, which took 14 s of the event loop for 40 000 keys), and its input is bounded: a manifest
  // is at most 64 KiB as JSON, so a text past MAX_MANIFEST_TEXT_CHARS is refused unparsed.
  if (text.length > MAX_MANIFEST_TEXT_CHARS) {
    return { raw: null, manifest: null, problems: [{ kind: 'yaml', file, line: null, column: null, path: '', message: `the file has ${text.length} characters; the limit is ${MAX_MANIFEST_TEXT_CHARS} (a manifest is at most 64 KiB as JSON: read big data from a file in the code instead)` }] };
  }
  const Y = await import('yaml');
  const lines = new Y.LineCounter();
  const doc = Y.parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  duplicateKeys(Y, doc);
  if (doc.errors.length > 0) {
    // The parser can report one mistake several times at one place (`{{{`: three unclosed maps): once each.
    const seen = new Set<string>();
    const problems: ManifestProblem[] = [];
    for (const e of doc.errors) {
      let pos = lines.linePos(e.pos[0]);
      let message = e.message.split('\n')[0]!;
      // A key indented deeper than the one above it: yaml says "Nested mappings are not allowed in
      // compact mappings" and "Implicit keys need to be on a single line" at the value above, which
      // read as nothing a new user wrote (new-user round 3). Said at the deeper line, once.
      const deeper = e.code === 'BLOCK_AS_IMPLICIT_KEY' || e.code === 'MULTILINE_IMPLICIT_KEY' ? deeperLineAfter(text, pos.line) : null;
      if (deeper !== null) {
        pos = deeper.pos;
        message = `indented deeper than the key on line ${deeper.above}, so YAML reads this line as part of that key's value: give it the same indentation as the key above it`;
      }
      const key = `${pos.line}:${pos.col}:${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push({ kind: 'yaml', file, line: pos.line, column: pos.col, path: '', message });
    }
    return { raw: null, manifest: null, problems };
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // An alias bomb (`&a [*b, *b, …]` ten levels down): yaml refuses it with a ReferenceError, which
    // was a 500 INTERNAL_ERROR of POST /validate (red team 3).
    return { raw: null, manifest: null, problems: [{ kind: 'yaml', file, line: null, column: null, path: '', message: `not a manifest the platform reads: ${(err as Error).message.split('\n')[0]}` }] };
  }
  if (raw === null || raw === undefined) {
    return { raw, manifest: null, problems: [{ kind: 'manifest', file, line: null, column: null, path: '', message: 'the file is empty; it needs at least `kind: function` and `name`' }] };
  }
  // The upload refuses it (MANIFEST_TOO_LARGE, controlplane/bundles/worker.ts): say so before a deploy creates anything.
  const manifestBytes = Buffer.byteLength(JSON.stringify(raw));
  if (manifestBytes > MAX_MANIFEST_BYTES) {
    return { raw, manifest: null, problems: [{ kind: 'manifest', file, line: null, column: null, path: '', message: `the manifest is ${manifestBytes} bytes as JSON; the limit is ${MAX_MANIFEST_BYTES} (a big cron payload? read it from a file in the code instead)` }] };
  }
  try {
    // Only the CLI resolves against a real environment (the server checks with ANY_ENV): its shell's.
    const manifest = parseManifest(raw, { platformEnv: env, source: file, envSource: "this shell's environment" });
    // Past the schema's static bounds: the platform's own ceilings, where the caller knows them (the
    // same rule and words as deploy's refusal, protocol/limit-ceilings.ts).
    const over = options.ceilings === undefined ? [] : ceilingIssues(manifest.limits, options.ceilings);
    if (over.length === 0) return { raw, manifest, problems: [] };
    return {
      raw,
      manifest: null,
      problems: over.map((issue): ManifestProblem => {
        const pos = lineOf(Y, doc, lines, issue.field);
        return { kind: 'manifest', file, line: pos?.line ?? null, column: pos?.col ?? null, path: issue.field, message: issue.message };
      }),
    };
  } catch (err) {
    if (!isManifestError(err)) throw err;
    // The ceilings of the limits that did parse, with the other problems: `memory: 100000Mi` was
    // reported only once everything else in the file was fixed (newcomer round 7).
    const reported = new Set(err.issues.map((i) => i.path));
    const over = options.ceilings === undefined ? [] : ceilingIssues(rawLimits(raw), options.ceilings).filter((i) => !reported.has(i.field));
    return {
      raw,
      manifest: null,
      problems: [...err.issues, ...over.map((i) => ({ path: i.field, message: i.message }))]
        .map((issue): ManifestProblem => {
          const pos = lineOf(Y, doc, lines, issue.path);
          return { kind: 'manifest', file, line: pos?.line ?? null, column: pos?.col ?? null, path: issue.path, message: issue.message + hint(issue.path, issue.message) + envHint(issue.path, issue.message) };
        })
        .sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
    };
  }
}

/** The limits of a manifest the schema refused, each one that parses on its own (for the ceilings). */
function rawLimits(raw: unknown): { maxInstances?: number; memoryBytes?: number; timeoutMs?: number } {
  const limits = typeof raw === 'object' && raw !== null ? (raw as { limits?: unknown }).limits : undefined;
  if (typeof limits !== 'object' || limits === null) return {};
  const { memory, timeout, maxInstances } = limits as Record<string, unknown>;
  const attempt = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  const memoryBytes = typeof memory === 'string' ? attempt(() => parseMemoryBytes(memory)) : undefined;
  const timeoutMs = typeof timeout === 'string' ? attempt(() => parseDurationMs(timeout)) : undefined;
  return {
    ...(memoryBytes !== undefined ? { memoryBytes } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(typeof maxInstances === 'number' && Number.isInteger(maxInstances) ? { maxInstances } : {}),
  };
}

/** How deep a manifest may nest, counted generously per line (deepestLine). */
export const MAX_YAML_NESTING = 128;

/** Longest platform.yaml read, in UTF-16 code units (4 × the manifest's 64 KiB limit as JSON, for comments and layout). */
export const MAX_MANIFEST_TEXT_CHARS = 256 * 1024;

/**
 * yaml's `uniqueKeys` check, in linear time: each mapping's scalar keys go into a set, and a key
 * seen before is an error at its place ("Map keys must be unique", as yaml words it). Keys that
 * are equal as JS keys (`1` and `"1"`) count as the same: they would overwrite each other in toJS.
 */
function duplicateKeys(Y: Yaml, doc: import('yaml').Document): void {
  Y.visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!Y.isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) {
          const at = pair.key.range?.[0] ?? 0;
          doc.errors.push(new Y.YAMLParseError([at, at + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
        } else seen.add(key);
      }
    },
  });
}

/**
 * The first line (1-based) whose nesting may exceed MAX_YAML_NESTING, or null. One linear scan, no
 * recursion; it over-counts (each line's indentation in characters, plus its block indicators
 * `- `, `? ` and `: ` outside flow collections, plus the open flow brackets), so what passes is well within what the
 * parser's recursion takes. Quoted scalars and comments are skipped; brackets in plain scalars
 * count (a false positive needs over a hundred of them open).
 */
export function deepestLine(text: string): number | null {
  let flow = 0;
  let line = 1;
  let depth = 0;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      depth = 0;
      atStart = true;
      continue;
    }
    if (atStart && c === ' ') {
      depth++;
    } else {
      atStart = false;
      if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
        while (i + 1 < text.length && text[i + 1] !== '\n') i++;
        continue;
      }
      if (c === '"' || c === "'") {
        // Skip the quoted scalar (it may span lines: keep counting them).
        for (i++; i < text.length; i++) {
          const q = text[i]!;
          if (q === '\n') line++;
          if (c === '"' && q === '\\') i++;
          else if (q === c) {
            if (c === "'" && text[i + 1] === "'") i++;
            else break;
          }
        }
        continue;
      }
      if (c === '[' || c === '{') flow++;
      else if ((c === ']' || c === '}') && flow > 0) flow--;
      // Block indicators nest only outside flow collections (`{"a": 1, "b": 2, …}` is one level).
      else if (flow === 0 && (c === '-' || c === '?' || c === ':') && (i + 1 === text.length || text[i + 1] === ' ' || text[i + 1] === '\n')) depth++;
    }
    if (depth + flow > MAX_YAML_NESTING) return line;
  }
  return null;
}

/**
 * A bare number where a unit is needed is the most common slip: say how to write that number, in the
 * unit Lambda's `Timeout` (seconds) and `MemorySize` (MB) count in (new-user round 12: `timeout: 15`
 * and `memory: 512` as template.yaml writes them).
 */
function hint(path: string, message: string): string {
  if (!/expected string, received number|^must be text, not the number/.test(message)) return '';
  const n = /the number (\d+(?:\.\d+)?)$/.exec(message)?.[1];
  if (path === 'limits.timeout') return n === undefined ? ' (write a duration with its unit, e.g. 30s or 500ms)' : ` (write a duration with its unit: ${n}s for ${n} seconds, as Lambda's Timeout counts, or ${n}ms)`;
  if (path === 'limits.memory') return n === undefined ? ' (write a size with its unit, e.g. 256Mi)' : ` (write a size with its unit: ${n}Mi for ${n} MiB, as Lambda's MemorySize counts)`;
  if (path.startsWith('env.')) return ' (quote it: env values are strings)';
  return '';
}

function envHint(path: string, message: string): string {
  return path.startsWith('env.') && message.includes('not set') ? ' (validate and deploy take ${NAME} from the shell they run in, not from the platform: export it, or write ${NAME:-default})' : '';
}

type Yaml = typeof import('yaml');

/** The line of the deepest key of `path` present in the document (the key itself, not its value). */
function lineOf(Y: Yaml, doc: import('yaml').Document, lines: import('yaml').LineCounter, path: string): { line: number; col: number } | null {
  let node: unknown = doc.contents;
  let offset: number | null = null;
  for (const segment of path === '' ? [] : path.split('.')) {
    if (Y.isMap(node)) {
      const pair = node.items.find((p) => (Y.isScalar(p.key) ? String(p.key.value) : String(p.key)) === segment);
      if (!pair) break;
      if (Y.isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      node = pair.value;
    } else if (Y.isSeq(node)) {
      const item = node.items[Number(segment)];
      if (item === undefined) break;
      if ((Y.isMap(item) || Y.isScalar(item) || Y.isSeq(item)) && item.range) offset = item.range[0];
      node = item;
    } else break;
  }
  return offset === null ? null : lines.linePos(offset);
}

/**
 * The entrypoint validate.py should check: the parsed one, else what the file says if the schema
 * did not object to it, else the default; "" (skip the check) when the manifest's entrypoint is
 * itself a problem, already reported.
 */
export function entrypointToCheck(read: ManifestRead): string {
  const flagged = read.problems.some((p) => p.path === 'entrypoint' || p.kind === 'yaml');
  if (flagged) return '';
  const rawEntry = (read.raw as { entrypoint?: unknown } | null)?.entrypoint;
  return read.manifest?.entrypoint ?? (typeof rawEntry === 'string' ? rawEntry : DEFAULT_ENTRYPOINT);
}

/** A timeout under which a WebSocket endpoint is warned about (its connections end at it). */
export const LONG_TIMEOUT_MS = 300_000;

/**
 * A manifest trigger as reportProblems reads it: its `id`, where it calls the app (`method`, cron
 * only, and `path`; default `POST /`), and a cron trigger's `schedule`.
 */
export interface TriggerShape { type: string; id?: string; method?: string; path?: string; schedule?: string }

/**
 * A warning for each trigger whose call (`POST <path>` for a webhook, `<method> <path>` for a cron
 * tick) the app has no route for (ADR 0175). A receiver at
 * `@app.post("/webhooks/github")` answered every delivery of a trigger calling `POST /` with 404
 * (apps round 20), and Vercel's `GET /api/cron` every tick (apps round 21).
 */
function unservedTriggers(w: PyFinding, triggers: readonly TriggerShape[]): { line: number | null; message: string }[] {
  const routes = w.routes ?? [];
  const lineOf = (route: string | undefined): number | null => (route === undefined ? w.line : w.lines?.[routes.indexOf(route)] ?? w.line);
  const found: { line: number | null; message: string }[] = [];
  for (const t of triggers) {
    if (t.type !== 'webhook' && t.type !== 'cron') continue;
    const at = t.path ?? '/';
    const method = t.type === 'cron' ? t.method ?? 'POST' : 'POST';
    if (routes.includes(`${method} ${at}`)) continue;
    const id = t.id ?? '?';
    if (t.type === 'webhook') {
      const posts = routes.filter((r) => r.startsWith('POST ')).map((r) => r.slice(5));
      const taken = posts.length === 0 ? 'takes POST at no path' : `takes POST at ${posts.join(', ')} but not at ${at}`;
      found.push({
        line: lineOf(routes.find((r) => r.startsWith('POST '))),
        message: `webhook trigger "${id}" calls the app at POST ${at}, and this app ${taken}: every verified delivery would answer 404 or 405 and its run fail. ` +
          (posts.length === 0 ? `Serve the receiver at POST ${at}` : `Give the trigger the receiver's path (\`path: ${posts[0]}\` under it in ${MANIFEST_FILE}), or serve the receiver at ${at} too`) +
          ' (docs/triggers.md, "Webhooks in the manifest")',
      });
      continue;
    }
    const route = routes.find((r) => /cron/i.test(r)) ?? routes[0]!;
    const [rm, rp] = route.split(' ') as [string, string];
    const fix = rm === 'POST' || rm === 'GET' ? `Give the trigger the route's call (${rm === 'POST' ? '' : `\`method: ${rm}\` and `}\`path: ${rp}\` under it in ${MANIFEST_FILE}), or serve the scheduled work at ${method} ${at}` : `Serve the scheduled work at ${method} ${at}`;
    found.push({
      line: lineOf(route),
      message: `cron trigger "${id}" calls the app at ${method} ${at} (each tick is a run of it), and this app has no such route (its routes: ${routes.join(', ')}): ` +
        `every tick would answer 404 or 405 and its run fail. ${fix} (docs/triggers.md, "Cron triggers")`,
    });
  }
  return found;
}

/**
 * validate.py's findings as problems (they stop a deploy) and warnings (they do not). `limits`
 * (the manifest's, when it parsed) drops a warning those limits answer (`PyFinding.needs`), and
 * `triggers` (the manifest's) decides the warnings about where webhook deliveries and cron ticks call the app,
 * and adds one for a cron step past its field's range (`*\/90` minutes: valid, and not what it reads as).
 * `validate` and `deploy` (cli/preflight.ts) and the server's `POST /validate` all warn through here.
 */
export function reportProblems(report: PyReport, limits?: { concurrency: number; maxInstances: number; timeoutMs?: number } | null, triggers?: readonly TriggerShape[] | null, env?: readonly string[] | null): { problems: Problem[]; warnings: Problem[] } {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const oneInstance = limits != null && limits.concurrency > 1 && limits.maxInstances === 1;
  const longTimeout = limits?.timeoutMs !== undefined && limits.timeoutMs >= LONG_TIMEOUT_MS;
  for (const e of report.syntaxErrors) problems.push({ kind: 'syntax', file: e.file, line: e.line, column: e.column ?? null, message: `${e.type ?? 'SyntaxError'}: ${e.message}` });
  for (const p of report.problems) problems.push({ kind: 'entrypoint', file: p.file ?? MANIFEST_FILE, line: p.line, message: p.message });
  for (const w of report.warnings) {
    if (w.needs === 'triggers') {
      for (const u of unservedTriggers(w, triggers ?? [])) warnings.push({ kind: 'python', file: w.file, line: u.line, message: u.message });
      continue;
    }
    if ((w.needs === 'one-instance' && oneInstance) || (w.needs === 'long-timeout' && longTimeout)) continue;
    if (w.needs === 'env' && w.env !== undefined && envSets(env ?? [], { env: w.env, envAnyCase: w.envAnyCase })) continue;
    // The message says the default (30 s): the manifest's own timeout is told beside it (apps round 12:
    // `timeout: 60s` read as cut at 30 s).
    const timeout = w.needs === 'long-timeout' && limits?.timeoutMs !== undefined ? `; this function's limits.timeout is ${limits.timeoutMs / 1000} s` : '';
    warnings.push({ kind: 'python', file: w.file, line: w.line, message: w.message + timeout });
  }
  (triggers ?? []).forEach((t, i) => {
    if (t.type !== 'cron' || t.schedule === undefined) return;
    for (const message of cronStepWarnings(t.schedule)) warnings.push({ kind: 'manifest', file: MANIFEST_FILE, line: null, column: null, path: `triggers.${i}.schedule`, message });
  });
  for (const p of report.dependencies?.problems ?? []) problems.push({ kind: 'dependencies', file: p.file, line: p.line, message: p.message });
  return { problems, warnings };
}

/**
 * Whether `names` (a function's env and secrets) set the variable a `needs: env` warning names: in any
 * case when `envAnyCase` (pydantic-settings reads the environment so unless its class says
 * `case_sensitive=True`), else as spelled: an `os.environ`/`os.getenv` lookup of `DATABASE_URL` finds no
 * `database_url` (Linux names are case-sensitive; loose4).
 */
export function envSets(names: readonly string[], w: { env: string; envAnyCase?: boolean | undefined }): boolean {
  if (w.envAnyCase !== true) return names.includes(w.env);
  const wanted = w.env.toLowerCase();
  return names.some((n) => n.toLowerCase() === wanted);
}

/** `file:line:col: path: message`, the form editors and terminals turn into links. */
export function formatProblem(p: Problem): string {
  let where = p.file ?? '(folder)';
  if (p.line !== undefined && p.line !== null) {
    where += `:${p.line}`;
    if (p.column !== undefined && p.column !== null) where += `:${p.column}`;
  }
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}
