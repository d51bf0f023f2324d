/**
 * The docs say what the code does: every `FP_*` setting in docs/platform.md's table (or
 * docs/kubernetes.md's, docs/cli.md's) with the code's default, every metric series and every
 * `/readyz` field described, every CLI command and option in docs/cli.md, every
 * `fastapi-platform …` line of README.md and docs/*.md parsing with its command's options, the ADRs
 * numbered once, and every relative link resolving. Reads the repository's files; no server.
 * (docs/errors.md against protocol/errors.ts: errors.test.ts; --help examples: cli-help-examples.test.ts.)
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GLOBAL_OPTIONS, parseCommandArgs, splitCommand } from '../../cli/args.js';
import { TEMPLATES } from '../../cli/commands/init.js';
import { COMMANDS, type CommandEntry } from '../../cli/main.js';
import { CONFIG_OPTIONS, loadConfig, unknownSettings } from '../../platform/config.js';
import { parse as parseYaml } from 'yaml';
import { ERRORS, parseLongDurationMs, RUNTIME_PLATFORM_CODES, type ErrorDef } from '../../protocol/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** README.md and every docs/**.md (ADRs included), as repository paths. */
function markdownFiles(dir = 'docs'): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}
const MARKDOWN = ['README.md', ...markdownFiles()];
/** What a reader runs: README.md and docs/*.md; ADRs keep the commands of their day. */
const CURRENT = MARKDOWN.filter((path) => !path.startsWith('docs/adr/'));

/** A table's rows `| \`option\` | \`FP_X\`… | default | meaning |`, keyed by variable. */
function settingRows(markdown: string): Map<string, { option: string; cell: string }> {
  const rows = new Map<string, { option: string; cell: string }>();
  for (const m of markdown.matchAll(/^\| `(\w+)` \| `(FP_[A-Z0-9_]+)`[^|]*\| ([^|]*) \|/gm)) rows.set(m[2]!, { option: m[1]!, cell: m[3]!.trim() });
  return rows;
}

describe('docs: code blocks', () => {
  it('every fenced block ends with a bare fence: text after the closing ``` keeps it open to the end of the page (ops round 2)', () => {
    // docs/stores.md's production backup ended its last block with "``` The secrets keys …", which
    // CommonMark reads as code: "Upgrading" and the rest of the page showed as one code block.
    const unclosed: string[] = [];
    for (const path of MARKDOWN) {
      let open = 0;
      read(path).split('\n').forEach((line, i) => {
        const fence = /^\s*```(.*)$/.exec(line);
        if (fence === null) return;
        if (open === 0) open = i + 1;
        else if (fence[1]!.trim() === '') open = 0;
        else unclosed.push(`${path}:${i + 1} (opened at ${open})`);
      });
      if (open !== 0) unclosed.push(`${path}: the block opened at ${open} is never closed`);
    }
    assert.deepEqual(unclosed, []);
  });
});

describe('docs: the platform\'s settings (platform/config.ts)', () => {
  const rows = new Map([...settingRows(read('docs/platform.md')), ...settingRows(read('docs/kubernetes.md'))]);
  const defaults = loadConfig({ HOME: '/home/u' }) as unknown as Record<string, unknown>;

  it('documents every variable under its option name, in docs/platform.md or docs/kubernetes.md', () => {
    const missing = CONFIG_OPTIONS.filter((o) => rows.get(o.env)?.option !== o.key).map((o) => `${o.key} (${o.env})`);
    assert.deepEqual(missing, [], 'add a row `| `option` | `FP_…` | default | meaning |` to docs/platform.md\'s table');
  });

  it('documents no variable the platform does not read', () => {
    const known = new Set(CONFIG_OPTIONS.map((o) => o.env));
    assert.deepEqual([...rows.keys()].filter((env) => !known.has(env)), []);
  });

  it('gives each default as the code has it', () => {
    const wrong: string[] = [];
    for (const { key, env, kind } of CONFIG_OPTIONS) {
      const cell = rows.get(env)?.cell;
      const value = defaults[key];
      // The row's absence fails above; an option without a default in the schema (the key file,
      // FP_PYTHON, FP_BUNDLE_THREADS…) has it computed where it is used: the row says how, in words.
      if (cell === undefined || value === undefined || key === 'secretsKeyFile') continue;
      const first = /`([^`]*)`/.exec(cell)?.[1];
      const ok = kind === 'flag' ? (value === true ? ['`true`', 'on'] : ['`false`', 'off']).some((word) => cell.startsWith(word))
        : kind === 'duration' ? first !== undefined && parseLongDurationMs(first) === value
        : value === '' ? /^(—|\(none\))/.test(cell)
        : first === String(value) && cell.startsWith('`');
      // `6291456` (6 MiB): the reader's figure too.
      const shown = /^`\d+` \(([\d.]+ [A-Za-z]+)\)/.exec(cell)?.[1];
      if (!ok || (shown !== undefined && inUnits(shown) !== value)) wrong.push(`${env}: the code's default is ${JSON.stringify(value)}, the doc says ${cell}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('gives the same default where the prose names one (`FP_X` (default 6 MiB))', () => {
    const wrong: string[] = [];
    let seen = 0;
    for (const path of CURRENT) {
      for (const m of read(path).replace(/\s+/g, ' ').matchAll(/`(FP_[A-Z0-9_]+)`,? \(?default (\d+(?: \d{3})*(?:\.\d+)?(?![\d.–-])(?: (?:KiB|MiB|GiB|days?|minutes?|min|ms|h|s)\b)?)/g)) {
        const option = CONFIG_OPTIONS.find((o) => o.env === m[1]);
        if (option === undefined) continue;
        seen++;
        if (inUnits(m[2]!.trim()) !== defaults[option.key]) wrong.push(`${path}: ${m[0]} (the code's default: ${String(defaults[option.key])})`);
      }
    }
    assert.ok(seen > 20, `only ${seen} defaults found in the prose`);
    assert.deepEqual(wrong, []);
  });
});

/** `6 MiB`, `7 days`, `100 000`, `5 min`: in bytes or milliseconds, as the configuration keeps them. */
function inUnits(text: string): number {
  const m = /^(\d[\d ]*(?:\.\d+)?) ?([A-Za-z]*)$/.exec(text);
  if (m === null) return NaN;
  const n = Number(m[1]!.replace(/ /g, ''));
  const unit: Record<string, number> = { '': 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, ms: 1, s: 1000, min: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, day: 86_400_000, days: 86_400_000 };
  return n * (unit[m[2]!] ?? NaN);
}

describe('docs: the CLI\'s variables (cli/config.ts)', () => {
  const variables = [...read('cli/config.ts').matchAll(/get\('(FP_[A-Z0-9_]+)'\)/g)].map((m) => m[1]!);

  it('finds the variables it looks for', () => {
    assert.ok(variables.includes('FP_URL') && variables.includes('FP_TOKEN'), variables.join());
  });

  it('lists every one in docs/cli.md\'s table', () => {
    const doc = read('docs/cli.md');
    assert.deepEqual(variables.filter((v) => !doc.includes(`| \`${v}\` |`)), []);
  });

  it('are none of them an "unknown setting" to the platform (a shell exports them for both)', () => {
    assert.deepEqual(unknownSettings(Object.fromEntries(variables.map((v) => [v, 'x']))), []);
    const doc = read('docs/platform.md');
    const named = /except the CLI's own \(([^)]*)\)/.exec(doc.replace(/\n/g, ' '))?.[1] ?? '';
    assert.deepEqual(variables.filter((v) => !named.includes(`\`${v}\``) && unknownSettings({ [v]: 'x' }).length === 0 && !CONFIG_OPTIONS.some((o) => o.env === v)), [],
      'docs/platform.md ("Configuration") names the CLI\'s variables the platform does not warn about');
  });
});

/** Metric names the sources register: `name: 'fp_…'`, a histogram's first argument, a hand-written `# TYPE fp_…`. */
function metricNames(): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of ['gateway', 'controlplane', 'platform', 'poolmgr']) {
    for (const file of sourceFiles(dir)) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/\bname: '(fp_[a-z0-9_]+)'|Histogram\('(fp_[a-z0-9_]+)'|# TYPE (fp_[a-z0-9_]+)/g)) out.set((m[1] ?? m[2] ?? m[3])!, file);
    }
  }
  return out;
}

/** Each prom-client series' type and label names, as declared (`new Counter({ name, …, labelNames })`; the one-label histogram's third argument). */
function metricDeclarations(): Map<string, { type: string; labels: string[] }> {
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const dir of ['gateway', 'controlplane', 'platform', 'poolmgr']) {
    for (const file of sourceFiles(dir)) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/new (Counter|Gauge|Histogram)(?:<[^>]*>)?\(\{\s*name: '(fp_\w+)',([\s\S]*?)\n\s*\}\)/g)) {
        const labels = /labelNames: \[([^\]]*)\]/.exec(m[3]!)?.[1] ?? '';
        out.set(m[2]!, { type: m[1]!.toLowerCase(), labels: [...labels.matchAll(/'(\w+)'/g)].map((l) => l[1]!) });
      }
      for (const m of text.matchAll(/OneLabelHistogram\('(fp_\w+)',[^,]*,\s*'(\w+)'/g)) out.set(m[1]!, { type: 'histogram', labels: [m[2]!] });
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('docs: metrics', () => {
  const names = metricNames();

  it('finds the series it looks for', () => {
    for (const name of ['fp_invocations_total', 'fp_invocation_duration_seconds', 'fp_runtime_start_failures_total', 'fp_zygote_bypassed', 'fp_async_queue_depth']) assert.ok(names.has(name), name);
  });

  it('describes every series in docs/gateway.md\'s metrics table', () => {
    const doc = read('docs/gateway.md');
    assert.deepEqual([...names].filter(([name]) => !new RegExp(`^\\| \`${name}[\`{]`, 'm').test(doc)).map(([name, file]) => `${name} (${file})`), []);
  });

  it('gives each series its type and labels as the code has them', () => {
    const doc = read('docs/gateway.md');
    const declared = metricDeclarations();
    assert.ok(declared.size >= names.size - 1, `${declared.size} declarations read of ${names.size} series`);
    const wrong: string[] = [];
    for (const [name, { type, labels }] of declared) {
      const row = new RegExp(`^\\| \`${name}\` \\| ([^|]*) \\| ([^|]*) \\|`, 'm').exec(doc);
      if (row === null) continue; // 'describes every series' names it
      // The labels: the backticked names before a `:` that lists a label's values, outside parentheses.
      const documented = [...row[2]!.replace(/\([^)]*\)/g, '').split(':')[0]!.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
      if (!row[1]!.startsWith(type)) wrong.push(`${name}: a ${type}, the doc says ${row[1]}`);
      if (documented.join() !== labels.join()) wrong.push(`${name}: labels ${labels.join(', ') || 'none'}, the doc says ${row[2]}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('the chart\'s alert rules and dashboard query only series the platform exports; docs/platform.md explains each alert', () => {
    const chart = 'deploy/helm/fastapi-platform';
    const queries = read(`${chart}/alerts/fastapi-platform.rules.yaml`) + read(`${chart}/dashboards/fastapi-platform.json`);
    const used = new Set([...queries.matchAll(/\b(fp_[a-z0-9_]+?)(?:_bucket|_count|_sum)?\b/g)].map((m) => m[1]!));
    assert.ok(used.size > 5, [...used].join());
    assert.deepEqual([...used].filter((name) => !names.has(name)), []);
    const alerts = [...read(`${chart}/alerts/fastapi-platform.rules.yaml`).matchAll(/alert: (\w+)/g)].map((m) => m[1]!);
    const section = /### Alerts\n([\s\S]*?)\n#{2,3} /.exec(read('docs/platform.md'))?.[1] ?? '';
    assert.ok(alerts.length > 5, alerts.join());
    assert.deepEqual(alerts.filter((alert) => !section.includes(alert)), []);
  });

  it("FpPlatformErrors pages on every code that is the platform's failure of a call, and FpFunctionFailing leaves them out (ops round 2)", () => {
    // A call's outcome that is not the function's doing: no runtime (RUNTIME_UNAVAILABLE), the runtime's
    // wire, a bug, a platform failure under the function's exception (RUNTIME_PLATFORM_CODES: the
    // bindings' database server down), the host's process total that other functions reached.
    const platformCodes = ['RUNTIME_UNAVAILABLE', 'RUNTIME_PROTOCOL_ERROR', 'INTERNAL_ERROR', ...RUNTIME_PLATFORM_CODES, 'PLATFORM_PROCESS_LIMIT'];
    const rules = (parseYaml(read('deploy/helm/fastapi-platform/alerts/fastapi-platform.rules.yaml')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    const expr = (alert: string): string => rules.find((r) => r.alert === alert)?.expr ?? '';
    const statusRegex = (e: string, op: string): RegExp => new RegExp(`^(?:${new RegExp(`status${op}"([^"]*)"`).exec(e)?.[1] ?? '$^'})$`);
    const paged = statusRegex(expr('FpPlatformErrors'), '=~');
    assert.deepEqual(platformCodes.filter((code) => !paged.test(code)), [], 'FpPlatformErrors misses these');
    const excluded = statusRegex(expr('FpFunctionFailing').split(' / ')[0]!, '!~');
    assert.deepEqual(platformCodes.filter((code) => !excluded.test(code)), [], "FpFunctionFailing counts these against the function's owner");
    assert.ok(!excluded.test('FUNCTION_ERROR') && excluded.test('ok'));
  });

  it('names no series in the docs that nothing exports', () => {
    const documented = new Set(CURRENT.flatMap((path) => [...read(path).matchAll(/`(fp_[a-z0-9_]+)[`{]/g)].map((m) => m[1]!)));
    // Node's process metrics come from prom-client under the same prefix (gateway/metrics.ts,
    // processRegistry); `fp_sandbox`, `fp_runtime` are the runtime's Python packages.
    const notSeries = (name: string) => /^fp_(process|nodejs)_/.test(name) || existsSync(join(ROOT, 'runtime', name));
    assert.deepEqual([...documented].filter((name) => !names.has(name) && !notSeries(name)), []);
  });
});

describe('docs: /readyz and /healthz (gateway/gateway.ts)', () => {
  const source = read('gateway/gateway.ts');
  const body = /return jsonResponse\(ready \? 200 : 503, \{([\s\S]*?)\n {8}\}\);/.exec(source)?.[1] ?? '';
  // A field plain (`name,`), or told on a condition (`...(starts !== null && load ? { starts } : {})`, `...(load ? { pool: … } : {})`).
  const fields = [...body.matchAll(/^ {10}(?:(\w+)[:,]|\.\.\.\((?:\w+ !== null(?: && load)?|load) \? \{ (\w+)[ :])/gm)].map((m) => (m[1] ?? m[2])!);
  const row = /^\| `\/readyz` \|.*$/m.exec(read('docs/gateway.md'))?.[0] ?? '';

  it('finds the fields it looks for', () => {
    assert.deepEqual(fields.slice(0, 2), ['status', 'problems']);
    assert.ok(fields.includes('starts') && fields.includes('sandbox'), fields.join());
  });

  it('shows every field of /readyz in docs/gateway.md\'s routes table', () => {
    assert.deepEqual(fields.filter((f) => !row.includes(`"${f}":`)), []);
  });

  it('shows the start health\'s fields (poolmgr StartHealth) and every status word', () => {
    const types = read('poolmgr/host/types.ts');
    const health = /export interface StartHealth \{([\s\S]*?)\n\}/.exec(types)?.[1] ?? '';
    const keys = [...health.matchAll(/^ {2}(?:readonly )?(\w+)\??:/gm)].map((m) => m[1]!);
    assert.ok(keys.length >= 2, health);
    assert.deepEqual(keys.filter((k) => !row.includes(`"${k}":`)), []);
    const statuses = [...source.matchAll(/status: ready \? \(problems\.length > 0 \? '(\w+)' : '(\w+)'\) : shuttingDown \? '(\w+)' : blocking > 0 \? '(\w+)' : '(\w+)'/g)].flatMap((m) => m.slice(1));
    assert.equal(statuses.length, 5, 'the status expression changed: update this test');
    assert.deepEqual(statuses.filter((s) => !row.includes(s)), []);
  });

  it('shows the pool\'s counts (poolmgr PoolStats) and the sandbox\'s fields (Isolation)', () => {
    const fieldsOf = (file: string, name: string): string[] => {
      const body = new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`).exec(read(file))?.[1] ?? '';
      return [...body.matchAll(/^ {2}(?:readonly )?(\w+)\??:/gm)].map((m) => m[1]!);
    };
    // Per-function entries (`functions`, `scaledToZero`) only with the admin token: the row says so in words.
    const pool = fieldsOf('poolmgr/types.ts', 'PoolStats').filter((k) => k !== 'functions' && k !== 'scaledToZero');
    const sandbox = [...fieldsOf('poolmgr/host/types.ts', 'Isolation'), 'unsafe'];
    assert.ok(pool.length >= 5 && sandbox.length >= 5, `${pool.join()} / ${sandbox.join()}`);
    assert.deepEqual([...pool, ...sandbox].filter((k) => !row.includes(`"${k}":`)), []);
    assert.ok(row.includes('`pool.functions`') && row.includes('`pool.scaledToZero`'));
  });

  it('shows /healthz\'s answer', () => {
    const healthz = /case 'healthz':\s*return jsonResponse\((\d+), (\{[^}]*\})\)/.exec(source);
    assert.ok(healthz, 'the healthz answer moved: update this test');
    const json = JSON.stringify(Function(`return ${healthz[2]}`)());
    assert.match(read('docs/gateway.md'), new RegExp(`^\\| \`/healthz\` \\|[^\\n]*\`${healthz[1]} ${json.replace(/[{}]/g, '\\$&')}\``, 'm'));
  });
});

describe('docs: error codes in the prose (protocol/errors.ts)', () => {
  it('name a code of the registry with its status wherever a status stands before it (`503 `X``)', () => {
    const wrong: string[] = [];
    let seen = 0;
    for (const path of MARKDOWN) {
      for (const m of read(path).replace(/\s+/g, ' ').matchAll(/\b([1-5]\d\d) `([A-Z][A-Z0-9_]{2,})`/g)) {
        seen++;
        const def: ErrorDef | undefined = (ERRORS as Record<string, ErrorDef>)[m[2]!];
        const statuses = def === undefined ? [] : [def.status, ...Object.values(def.statusBy?.values ?? {})];
        // ADRs tell the code's history: a code since renamed stays, its status may not have been the registry's then.
        if (def === undefined ? !path.startsWith('docs/adr/') : !statuses.includes(Number(m[1]))) {
          wrong.push(`${path}: ${m[0]} (${def === undefined ? 'no such code' : `the registry: ${statuses.join(' or ')}`})`);
        }
      }
    }
    assert.ok(seen > 100, `only ${seen} status-and-code pairs found`);
    assert.deepEqual(wrong, []);
  });
});

describe('docs: the API\'s routes (schemas/openapi.json, from controlplane/api/routes.ts)', () => {
  const doc = JSON.parse(read('schemas/openapi.json')) as { paths: Record<string, Record<string, unknown>> };
  const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
  /** `GET /api/v1/functions/:_`: every parameter (`{name}`, `:name`, `<runId>`) one form. */
  const norm = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/\{\w+\}|<[^>]*>|:\w+/g, ':_')}`;
  const routes = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => norm(m, `/api/v1${path}`))));
  const named = (path: string) => [...read(path).matchAll(/\b(GET|PUT|POST|PATCH|DELETE) (\/api\/v1\/[A-Za-z0-9_:/.<>-]*[A-Za-z0-9_>])/g)].map((m) => ({ text: m[0], route: norm(m[1]!, m[2]!) }));

  it('documents every route in docs/api.md or docs/api-invoke.md', () => {
    const documented = new Set(['docs/api.md', 'docs/api-invoke.md'].flatMap((path) => named(path).map((n) => n.route)));
    assert.ok(routes.size > 40, `${routes.size} routes`);
    assert.deepEqual([...routes].filter((r) => !documented.has(r)), []);
  });

  it('names no route the API does not have', () => {
    // An app's own route under the same prefix (docs/api-invoke.md, X-Forwarded-Prefix), not the platform's.
    const apps = new Set(['GET /api/v1/items']);
    const stale = CURRENT.flatMap((path) => named(path).filter((n) => !routes.has(n.route) && !apps.has(n.text)).map((n) => `${path}: ${n.text}`));
    assert.deepEqual(stale, []);
  });
});

describe('docs: the platform\'s own headers', () => {
  it('names every `x-fp-*` header (and `FP-API`) the sources set or read', () => {
    const files = ['gateway', 'controlplane', 'platform', 'poolmgr', 'protocol', 'cli'].flatMap((dir) => sourceFiles(dir));
    const runtime = readdirSync(join(ROOT, 'runtime'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.py')).map((f) => `runtime/${f}`);
    const headers = new Set([...files, ...runtime].flatMap((file) => [...read(file).matchAll(/\b(x-fp-[a-z][a-z-]*[a-z]|fp-api)\b/gi)].map((m) => m[1]!.toLowerCase())));
    assert.ok(headers.has('fp-api') && headers.has('x-fp-trigger-id'), [...headers].join());
    const docs = CURRENT.map((path) => read(path).toLowerCase()).join('\n');
    assert.deepEqual([...headers].filter((h) => !new RegExp(`\\b${h}\\b`).test(docs)), []);
  });
});

/** docs/cli.md's `### ` sections, each with the commands its heading names. */
function cliSections(): { commands: string[]; text: string }[] {
  return read('docs/cli.md').split(/^### /m).slice(1).map((part) => {
    const heading = part.slice(0, part.indexOf('\n'));
    return { commands: [...heading.matchAll(/(?:^|· )`(\w+)/g)].map((m) => m[1]!), text: part };
  });
}

describe('docs: every CLI command and option in docs/cli.md', () => {
  const sections = cliSections();
  it('the global options: each a row of "Global options and where settings come from"', () => {
    const table = /## Global options[^\n]*\n[\s\S]*?\n(\| option \|[\s\S]*?)\n\n/.exec(read('docs/cli.md'))?.[1] ?? '';
    const rows = table.split('\n').map((row) => row.split(' | ')[0]!);
    const missing = Object.entries(GLOBAL_OPTIONS).filter(([key]) => !rows.some((cell) => new RegExp(`\`--${key}[\` ]`).test(cell)));
    assert.deepEqual(missing.map(([key]) => `--${key}`), []);
  });

  it('every command in the CLI\'s list, and no section for a command it does not have', () => {
    const named = new Set(sections.flatMap((s) => s.commands));
    assert.deepEqual([...named].filter((name) => !COMMANDS.some((c) => c.name === name)), []);
  });

  for (const entry of COMMANDS) {
    it(`${entry.name}: a section, naming each of its options`, async () => {
      const command = await entry.load();
      const text = sections.filter((s) => s.commands.includes(entry.name)).map((s) => s.text).join('\n');
      assert.ok(text !== '', `docs/cli.md has no "### \`${entry.name} …\`" section`);
      const missing = Object.entries(command.options ?? {}).filter(([key, option]) =>
        !new RegExp(`--${key}(?![\\w-])`).test(text) && !(option.short !== undefined && new RegExp(`[\`[\\s]-${option.short}\\b`).test(text)));
      assert.deepEqual(missing.map(([key]) => `--${key}`), []);
      // Its subcommands (`functions pause|resume <name>`, `tokens [list]`): in the section's heading.
      const headings = sections.filter((s) => s.commands.includes(entry.name)).map((s) => s.text.slice(0, s.text.indexOf('\n'))).join(' ');
      const verbs = command.usage.split(/\s+\|\s+/).flatMap((alt) => {
        const first = alt.trim().replace(new RegExp(`^${entry.name}\\s+`), '').split(/\s+/)[0] ?? '';
        return /^\[?[a-z][a-z-]*(\|[a-z][a-z-]*)*\]?$/.test(first) ? first.replace(/[[\]]/g, '').split('|') : [];
      });
      assert.deepEqual(verbs.filter((verb) => !new RegExp(`[\\s\`\\[|]${verb}[\\s\`\\]|]`).test(` ${headings} `)), [], headings);
    });
  }
});

/** The object literal that starts at `text[open]` (`{`), braces, brackets and parentheses matched; strings skipped. */
function objectAt(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if ('{[('.includes(c)) depth++;
    else if ('}])'.includes(c) && --depth === 0) return text.slice(open, i + 1);
  }
  return text.slice(open);
}

/** An object literal's own keys: `k: v` and shorthand `k`, and a conditional spread's `...(c ? { k: v } : {})` as `k?`. */
function literalKeys(literal: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let start = 1;
  const parts: string[] = [];
  for (let i = 0; i < literal.length; i++) {
    const c = literal[i]!;
    if (c === "'" || c === '"' || c === '`') { for (i++; i < literal.length && literal[i] !== c; i++) if (literal[i] === '\\') i++; continue; }
    if ('{[('.includes(c)) depth++;
    else if ('}])'.includes(c)) depth--;
    if ((c === ',' && depth === 1) || depth === 0) { parts.push(literal.slice(start, i).trim()); start = i + 1; }
  }
  for (const part of parts) {
    const spread = /^\.\.\.\(.*\?\s*\{\s*(\w+)\b/s.exec(part);
    if (spread !== null) keys.push(`${spread[1]!}?`);
    else if (/^\w+(?=\s*(:|$))/.test(part)) keys.push(/^\w+/.exec(part)![0]);
  }
  return keys;
}

/** A shell's words: '…' and "…" quoting kept whole. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!);
}

/**
 * The `fastapi-platform …` command lines of README.md and docs/*.md: in code blocks, and inline
 * code spans that start with the command; each cut at a shell comment, `&&`, `|`, `;` or `<`.
 * `typed`: run with `npx`, after a `$ ` prompt or `&&` (a line of a command's output, such as
 * `fastapi-platform is running at …`, is neither, and counts only when it names a command).
 */
function commandLines(path: string): { line: number; text: string; typed: boolean }[] {
  const out: { line: number; text: string; typed: boolean }[] = [];
  let fenced = false;
  read(path).split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) { fenced = !fenced; return; }
    const found = fenced
      ? [/(?:^|(&&\s*|\$\s+|npx )|^\s*)fastapi-platform( [^#\n]*)/.exec(line.replace(/^\s*#.*$/, ''))]
      : [...line.matchAll(/`(npx )?fastapi-platform( [^`]*)`/g)];
    for (const m of found) {
      if (m === null || m === undefined) continue;
      const cut = m[2]!.split(/\s(?:&&|\||;|<|>|2>)\s|\s{2,}#|\s#\s/)[0]!.trim();
      if (cut !== '') out.push({ line: i + 1, text: cut, typed: !fenced || m[1] !== undefined });
    }
  });
  return out;
}

describe('docs: `dev --json` events (cli/commands/dev.ts, cli/dev/)', () => {
  it('each event a row of docs/cli.md\'s table naming each of its fields', () => {
    const files = ['cli/commands/dev.ts', ...readdirSync(join(ROOT, 'cli', 'dev')).filter((f) => f.endsWith('.ts')).map((f) => `cli/dev/${f}`)];
    const events = new Map<string, Set<string>>();
    const add = (name: string, keys: string[]) => { const set = events.get(name) ?? new Set<string>(); for (const k of keys) set.add(k); events.set(name, set); };
    for (const file of files) {
      const text = read(file);
      for (const m of text.matchAll(/out\.event\(\{/g)) {
        const literal = objectAt(text, m.index + m[0].length - 1);
        const kind = /event: (?:'([\w-]+)'|[^,]*\? '([\w-]+)' : '([\w-]+)')/.exec(literal);
        assert.ok(kind, `${file}: an event without a literal name: ${literal.slice(0, 80)}`);
        for (const name of [kind[1], kind[2], kind[3]].filter((n) => n !== undefined)) add(name!, literalKeys(literal).filter((k) => k !== 'event'));
      }
      // `started` spreads the session's own object (local or remote): its keys are the event's.
      for (const m of text.matchAll(/\bstarted: \{/g)) add('started', literalKeys(objectAt(text, m.index + m[0].length - 1)));
    }
    assert.ok(events.size >= 8 && (events.get('started')?.size ?? 0) > 3, [...events.keys()].join());
    const table = /`--json` prints one JSON object per line:\n\n\| event \| fields \|\n\|---\|---\|\n([\s\S]*?)\n\n/.exec(read('docs/cli.md'))?.[1] ?? '';
    const rows = new Map([...table.matchAll(/^\| `([\w-]+)` \|(.*)\|$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    const wrong: string[] = [];
    for (const [name, keys] of events) {
      const row = rows.get(name);
      if (row === undefined) { wrong.push(`${name}: no row`); continue; }
      // `unchanged` is "as `reloaded`": its fields are that row's.
      const text = /^as `(\w+)`/.test(row) ? rows.get(/^as `(\w+)`/.exec(row)![1]!) ?? row : row;
      for (const key of keys) if (!text.includes(`\`${key}\``) && !text.includes(`\`${key.replace(/\?$/, '')}\``)) wrong.push(`${name}: ${key}`);
    }
    for (const name of rows.keys()) if (!events.has(name)) wrong.push(`${name}: a row, but dev sends no such event`);
    assert.deepEqual(wrong, []);
  });
});

describe('docs: `up --json` events (cli/commands/up.ts)', () => {
  it('each event named in docs/cli.md\'s `up` section, `started` with each of its fields', () => {
    const text = read('cli/commands/up.ts');
    const events = new Map([...text.matchAll(/out\.event\(\{/g)].map((m) => {
      const literal = objectAt(text, m.index + m[0].length - 1);
      return [/event: '([\w-]+)'/.exec(literal)![1]!, literalKeys(literal).filter((k) => k !== 'event')] as const;
    }));
    assert.ok(events.size >= 4 && (events.get('started')?.length ?? 0) > 5, [...events.keys()].join());
    const section = cliSections().find((s) => s.commands.includes('up'))?.text.replace(/\s+/g, ' ') ?? '';
    const started = /\{"event": "started", ([^}]*)\}/.exec(section)?.[1]?.split(/,\s*/) ?? [];
    const wrong = [...events.keys()].filter((name) => !section.includes(`"${name}"`) && !section.includes(`\`${name}\``));
    wrong.push(...events.get('started')!.filter((key) => !started.includes(key)).map((key) => `started: ${key}`));
    assert.deepEqual(wrong, []);
  });
});

describe('docs: every `fastapi-platform …` line parses with its command\'s options', () => {
  it('finds the lines it looks for', () => {
    const readme = commandLines('README.md').map((l) => l.text);
    assert.ok(readme.includes('invoke my-fn --file payload.json'), readme.join('\n'));
    assert.ok(readme.length > 20, `${readme.length} lines`);
  });

  for (const path of CURRENT) {
    it(path, async () => {
      const bad: string[] = [];
      for (const { line, text, typed } of commandLines(path)) {
        // Placeholders (`<name>`, `…`, `[options]`) and an option's list of choices (`a|b`) are words of prose.
        if (/[[…]|\.\.\.|\|/.test(text)) continue;
        const argv = words(text);
        const { command, rest } = splitCommand(argv);
        if (command === null) {
          try { parseCommandArgs(rest, {}, 'fastapi-platform'); } catch (err) { bad.push(`${path}:${line}: ${text}: ${(err as Error).message.split('\n')[0]}`); }
          continue;
        }
        const entry: CommandEntry | undefined = COMMANDS.find((c) => c.name === command);
        if (entry === undefined) { if (command !== 'help' && typed) bad.push(`${path}:${line}: ${text}: no command "${command}"`); continue; }
        const spec = await entry.load();
        try {
          parseCommandArgs(rest, spec.options, entry.name);
        } catch (err) {
          bad.push(`${path}:${line}: ${text}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      assert.deepEqual(bad, []);
    });
  }
});

describe('docs: `init --template` (cli/commands/init.ts TEMPLATES)', () => {
  it('names templates that exist, and every one where the docs list them', () => {
    const lists = CURRENT.flatMap((path) => [...read(path).matchAll(/--template ([a-z]+(?:\|[a-z]+)*)/g)].map((m) => ({ path, words: m[1]!.split('|') })));
    assert.ok(lists.length >= 3, `${lists.length} found`);
    assert.deepEqual(lists.flatMap(({ path, words }) => words.filter((w) => !(TEMPLATES as readonly string[]).includes(w)).map((w) => `${path}: ${w}`)), []);
    // A list of several is the list: all of them, the default `http` aside.
    const partial = lists.filter(({ words }) => words.length > 1 && TEMPLATES.some((t) => t !== 'http' && !words.includes(t)));
    assert.deepEqual(partial.map(({ path, words }) => `${path}: ${words.join('|')}`), []);
  });
});

describe('the `fastapi-platform …` lines `init`\'s templates and the chart\'s notes show', () => {
  it('parse with their command\'s options', async () => {
    const files = [
      ...readdirSync(join(ROOT, 'templates'), { recursive: true, encoding: 'utf8' }).map((f) => `templates/${f}`),
      'deploy/helm/fastapi-platform/templates/NOTES.txt',
    ].filter((f) => statSync(join(ROOT, f)).isFile());
    const bad: string[] = [];
    let seen = 0;
    for (const file of files) {
      for (const m of read(file).matchAll(/fastapi-platform ([a-z][^#\n`]*)/g)) {
        const argv = words(m[1]!.trim());
        const entry = COMMANDS.find((c) => c.name === argv[0]);
        if (entry === undefined) continue; // "the fastapi-platform repository": prose
        seen++;
        const spec = await entry.load();
        try { parseCommandArgs(argv.slice(1), spec.options, entry.name); } catch (err) { bad.push(`${file}: ${m[0]}: ${(err as Error).message.split('\n')[0]}`); }
      }
    }
    assert.ok(seen >= 8, `only ${seen} lines found`);
    assert.deepEqual(bad, []);
  });
});

describe('docs: the Helm chart\'s values (deploy/helm/fastapi-platform/values.yaml)', () => {
  it('are each in docs/kubernetes.md\'s "Values" table', () => {
    const values = parseYaml(read('deploy/helm/fastapi-platform/values.yaml')) as Record<string, unknown>;
    const table = /### Values\n([\s\S]*?)\n\n/.exec(read('docs/kubernetes.md'))?.[1] ?? '';
    const cells = [...table.matchAll(/^\| ([^|]*) \|/gm)].map((m) => m[1]!);
    /** A cell names `a.b` as `a.b`, `a.b.*`, a prefix of it, or `.b` beside another `a.…`. */
    const names = (path: string[]): boolean => path.some((_, i) => {
      const q = path.slice(0, i + 1).join('.');
      return cells.some((cell) => cell.includes(`\`${q}\``) || cell.includes(`\`${q}.*\``)
        || (i > 0 && cell.includes(`\`.${path[i]}\``) && cell.includes(`\`${path.slice(0, i).join('.')}.`)));
    });
    const leaves = (value: unknown, path: string[]): string[][] =>
      value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0 && !names(path)
        ? Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]))
        : [path];
    const all = Object.entries(values).flatMap(([key, value]) => leaves(value, [key]));
    assert.ok(all.length > 20, `${all.length} values`);
    assert.deepEqual(all.filter((path) => !names(path)).map((path) => path.join('.')), []);
  });
});

describe('docs: ADRs', () => {
  const files = readdirSync(join(ROOT, 'docs', 'adr')).filter((f) => f.endsWith('.md') && f !== 'README.md');

  it('are named NNNN-slug.md, each number once, titled with its number', () => {
    const bad = files.filter((f) => !/^\d{4}-[a-z0-9-]+\.md$/.test(f));
    assert.deepEqual(bad, []);
    const numbers = files.map((f) => f.slice(0, 4));
    assert.deepEqual(numbers.filter((n, i) => numbers.indexOf(n) !== i), []);
    const untitled = files.filter((f) => !readFileSync(join(ROOT, 'docs', 'adr', f), 'utf8').split('\n', 1)[0]!.includes(f.slice(0, 4)));
    assert.deepEqual(untitled, []);
  });
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/<[^>]*>/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchors(path: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (m === null) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** A page's places a reference can name: its headings, bold leads (`**Title.**`) and tables' first cells, in lower case, without backticks. */
function places(path: string): string[] {
  const text = readFileSync(path, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return [...text.matchAll(/^#{1,6} (.*)$|\*\*([^*\n]+)\*\*|^\| ([^|\n]+) \|/gm)].map((m) => (m[1] ?? m[2] ?? m[3])!.replace(/`/g, '').trim().toLowerCase());
}

describe('docs: a page\'s section named in quotes (`docs/x.md, "Title"`)', () => {
  it('is a heading, bold lead or table row of that page, in the docs and in the sources\' comments', () => {
    const sources = ['gateway', 'controlplane', 'platform', 'poolmgr', 'protocol', 'cli'].flatMap((dir) => sourceFiles(dir));
    const runtime = readdirSync(join(ROOT, 'runtime'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(py|c)$/.test(f)).map((f) => `runtime/${f}`);
    const cache = new Map<string, string[]>();
    const wrong: string[] = [];
    let seen = 0;
    for (const path of [...CURRENT, ...sources, ...runtime]) {
      // Comments wrap: ` * ` and `# ` continuation marks go with the line breaks.
      const text = read(path).replace(/\s*\n\s*(?:\*(?!\/)|#|\/\/)?\s*/g, ' ');
      for (const m of text.matchAll(/\b((?:docs\/(?:adr\/)?)?[a-z0-9-]+\.md)\)?,? "([^"]{2,80})"/g)) {
        const named = m[1]!;
        const file = named.startsWith('docs/') ? named : path.startsWith('docs/') ? join(dirname(path), named) : named === 'README.md' ? 'README.md' : `docs/${named}`;
        // bench/README.md holds the measurements other pages cite as README.md's.
        const pages = [file, ...(file === 'README.md' ? ['bench/README.md'] : [])].filter((f) => existsSync(join(ROOT, f)));
        if (pages.length === 0) { wrong.push(`${path}: ${m[0]} (no such page)`); continue; }
        seen++;
        const title = m[2]!.replace(/`/g, '').trim().replace(/[.,]$/, '').toLowerCase();
        const found = pages.some((page) => {
          if (!cache.has(page)) cache.set(page, places(join(ROOT, page)));
          return cache.get(page)!.some((place) => place.startsWith(title) || place.includes(title));
        });
        if (!found) wrong.push(`${path}: ${m[0]}`);
      }
    }
    assert.ok(seen > 100, `only ${seen} section references found`);
    assert.deepEqual(wrong, []);
  });
});

describe('docs: paths of pages named in prose and comments', () => {
  it('are pages that exist (`docs/adr/0010-sandbox.md`, not a number since taken by another)', () => {
    const sources = ['gateway', 'controlplane', 'platform', 'poolmgr', 'protocol', 'cli', 'scripts', 'bench'].flatMap((dir) => sourceFiles(dir));
    const runtime = readdirSync(join(ROOT, 'runtime'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(py|c)$/.test(f)).map((f) => `runtime/${f}`);
    const missing = [...CURRENT, ...sources, ...runtime].flatMap((path) =>
      [...read(path).matchAll(/\bdocs\/[A-Za-z0-9_./-]+\.(?:md|png)\b/g)].filter((m) => !existsSync(join(ROOT, m[0]))).map((m) => `${path}: ${m[0]}`));
    assert.deepEqual(missing, []);
  });
});

describe('docs: relative links', () => {
  it('resolve to a file of the repository, and to a heading of it when they name one', () => {
    const broken: string[] = [];
    let seen = 0;
    for (const path of [...MARKDOWN, 'CHANGELOG.md', 'bench/README.md', 'deploy/README.md', 'test/README.md']) {
      const text = read(path).replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        seen++;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const full = file === '' ? join(ROOT, path) : resolve(join(ROOT, dirname(path)), decodeURIComponent(file));
        if (!existsSync(full)) { broken.push(`${path}: ${target} (no such file)`); continue; }
        if (anchor !== undefined && anchor !== '' && full.endsWith('.md') && statSync(full).isFile() && !anchors(full).has(anchor.toLowerCase())) {
          broken.push(`${path}: ${target} (no heading #${anchor} in ${relative(ROOT, full)})`);
        }
      }
    }
    assert.ok(seen > 20, `only ${seen} relative links found`);
    assert.deepEqual(broken, []);
  });
});

describe('docs: the recipes put no password on a command line (red team round 27)', () => {
  // `ps -eo args` shows every user of the host every process's command line for as long as it runs:
  // README's second FerretDB took `--postgresql-url=postgres://fp:<password>@…`, and any local user
  // read the PostgreSQL password of the database holding every workspace's data.
  it('no shell line of a code block gives an option a URL with a user and password', () => {
    const found: string[] = [];
    for (const path of new Set([...MARKDOWN, 'deploy/README.md'])) {
      for (const block of read(path).matchAll(/^```([a-z]*)\n([\s\S]*?)^```/gm)) {
        if (!['', 'sh', 'bash', 'shell'].includes(block[1]!)) continue;
        for (const line of block[2]!.split('\n')) {
          if (/^\s*#/.test(line)) continue;
          if (/--[a-z][a-z-]*[= ]['"]?[a-z][a-z0-9+.-]*:\/\/[^/\s:@'"]+:[^@\s'"]+@/i.test(line)) found.push(`${path}: ${line.trim()}`);
        }
      }
    }
    assert.deepEqual(found, []);
  });
});

describe('docs: the production recipes put no server on a loopback port (red team round 28)', () => {
  // Functions share the host's network: the README's PostgreSQL recipe left PostgreSQL on
  // 127.0.0.1:5432 (Debian's default) and FerretDB on 127.0.0.1:27017, and one function, without
  // any password, held all of PostgreSQL's connections; the store answered 503 after FerretDB's next
  // reconnect. Each server the recipes start listens on a Unix socket only.
  it('redis-server, ferretdb and PostgreSQL are started without a TCP listener', () => {
    const found: string[] = [];
    for (const path of ['README.md', 'docs/platform.md']) {
      for (const block of read(path).matchAll(/^```([a-z]*)\n([\s\S]*?)^```/gm)) {
        if (!['sh', 'bash', 'shell'].includes(block[1]!)) continue;
        const commands = block[2]!.replace(/\\\n/g, ' ').split('\n').filter((line) => !/^\s*#/.test(line));
        for (const line of commands) {
          if (/^\s*(?:\S+=\S+\s+)*redis-server\s/.test(line) && !/--port 0\b/.test(line)) found.push(`${path}: redis-server with a port: ${line.trim()}`);
          if (/\/bin\/ferretdb"?\s/.test(line) && !/--listen-addr=(\s|$)/.test(line)) found.push(`${path}: ferretdb on a TCP address: ${line.trim()}`);
        }
        if (/apt-get install[^\n]*\bpostgresql\b/.test(block[2]!) && !/listen_addresses = ''/.test(block[2]!)) {
          found.push(`${path}: PostgreSQL installed and left on its TCP port (listen_addresses)`);
        }
      }
    }
    assert.deepEqual(found, []);
  });
});
