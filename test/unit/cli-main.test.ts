/** The command table, help and usage errors, through main() with captured output (no network). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../cli/main.js';
import { EXIT } from '../../cli/errors.js';
import { changedSettings, envFromEnvironment, settingChanges, settingsFromManifest } from '../../cli/deploy-flow.js';
import { diffFiles } from '../../protocol/index.js';
import { compileIgnore, isIgnoredByDefault, leftOut } from '../../cli/files.js';
import { formatAgo, formatBytes, table } from '../../cli/output.js';
import { formatRun } from '../../cli/commands/runs.js';
import { formatUsage } from '../../cli/commands/usage.js';
import { printDeploy, webhookUrl } from '../../cli/commands/deploy.js';
import { oldCredentials } from '../../cli/commands/data.js';
import type { ApiFunction } from '../../cli/client.js';
import { parseManifest } from '../../protocol/index.js';
import { runCli } from '../helpers/cli-harness.js';

describe('cli main', () => {
  it('prints help at the top (exit 0 when asked, 2 without a command)', async () => {
    const asked = await runCli(['--help']);
    assert.equal(asked.code, EXIT.OK);
    for (const c of COMMANDS) assert.match(asked.stdout, new RegExp(`^  ${c.name} `, 'm'));
    assert.equal((await runCli([])).code, EXIT.USAGE);
    assert.equal((await runCli(['help', 'deploy'])).stdout.includes('Usage: fastapi-platform deploy'), true);
  });

  it('has --help on every command, listing its options', async () => {
    for (const entry of COMMANDS) {
      const c = await entry.load();
      assert.equal(c.name, entry.name);
      const r = await runCli([c.name, '--help']);
      assert.equal(r.code, EXIT.OK, c.name);
      assert.match(r.stdout, new RegExp(`Usage: fastapi-platform ${c.name}`));
      for (const option of Object.keys(c.options)) assert.match(r.stdout, new RegExp(`--${option}\\b`), `${c.name} --${option}`);
    }
  });

  it('prints its version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, EXIT.OK);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('exits 2 for an unknown command, an unknown option or a bad value; --json gives the error as JSON', async () => {
    assert.equal((await runCli(['deplyo'])).code, EXIT.USAGE);
    assert.equal((await runCli(['init', '--nope'])).code, EXIT.USAGE);
    assert.equal((await runCli(['runs', '--limit', 'many'])).code, EXIT.USAGE);
    assert.equal((await runCli(['invoke'])).code, EXIT.USAGE);
    const django = await runCli(['init', '/tmp/x', '--template', 'django']);
    assert.equal(django.code, EXIT.USAGE);
    // New-user round 3: a framework's name as a template points at `init .`, which finds the app.
    assert.match(django.stderr, /got "django"; an app of your own \(django included\) needs no template: in its folder, `\S.*init \.` finds it/);
    assert.doesNotMatch((await runCli(['init', '/tmp/x', '--template', 'cronn'])).stderr, /an app of your own/);
    const r = await runCli(['rollback', '--json']);
    assert.equal(r.code, EXIT.USAGE);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; exitCode: number } };
    assert.deepEqual([doc.ok, doc.error.code, doc.error.exitCode], [false, 'USAGE', EXIT.USAGE]);
  });

  it('runs <id> says how the instance was obtained in words (not "warm (warm)")', () => {
    const run = {
      runId: 'r', attempt: 1, function: 'f', workspace: 'default', version: '1', trigger: 'http', initMs: 0, handlerMs: 1, queuedMs: 0, durationMs: 2,
      status: 'succeeded', httpStatus: 200, errorCode: null, errorClass: null, error: null, startedAt: 0,
    } as const;
    const startLine = (cold: boolean, start: 'warm' | 'pool' | 'spawn' | 'template' | null): string | undefined => formatRun({ ...run, cold, start, logs: [] }, 1000).split('\n').find((l) => l.startsWith('start '));
    assert.equal(startLine(false, 'warm'), 'start     warm');
    assert.equal(startLine(true, 'pool'), 'start     cold (a pre-started runtime from the pool, given the code)');
    assert.equal(startLine(true, 'template'), 'start     cold (forked from a template of this version)');
    // A FastAPI or bound version forked for its call by its preset's zygote: not "a process started" (data2).
    assert.equal(startLine(true, 'spawn'), 'start     cold (a runtime made for the call: forked from its preset\'s zygote when one is ready, else a new interpreter)');
    assert.equal(startLine(true, null), 'start     cold');
  });

  it("runs <id> shows a log message of several lines (log.exception's traceback) as several, each with its time and level (ADR 0224)", () => {
    const run = {
      runId: 'r', attempt: 1, function: 'f', workspace: 'default', version: '1', trigger: 'http', initMs: 0, handlerMs: 1, queuedMs: 0, durationMs: 2,
      status: 'succeeded', httpStatus: 200, errorCode: null, errorClass: null, error: null, startedAt: 0, cold: false, start: 'warm',
      logs: [{ ts: 0, stream: 'stderr', level: 'ERROR', msg: 'app: caught it\nTraceback (most recent call last):\nZeroDivisionError: division by zero\x1b[2J\n' }],
    } as const;
    const shown = formatRun({ ...run, logs: [...run.logs] }, 1000).split('\n');
    assert.deepEqual(shown.slice(shown.indexOf('logs (1)') + 1), [
      '  00:00:00.000 ERROR   app: caught it',
      '  00:00:00.000 ERROR   Traceback (most recent call last):',
      '  00:00:00.000 ERROR   ZeroDivisionError: division by zero\\x1b[2J',
    ]);
  });

  it('runs <id> says the request with its query as the run keeps it (ADR 0251)', () => {
    const run = {
      runId: 'r', attempt: 1, function: 'f', workspace: 'default', version: '1', trigger: 'http', initMs: 0, handlerMs: 1, queuedMs: 0, durationMs: 2,
      status: 'succeeded', httpStatus: 200, errorCode: null, errorClass: null, error: null, startedAt: 0, cold: false, start: 'warm', logs: [],
      method: 'GET', path: '/items', query: 'q=1&api_key=***',
    } as const;
    assert.ok(formatRun({ ...run, logs: [] }, 1000).split('\n').includes('request   GET /items?q=1&api_key=***'));
  });

  it('runs <id> shows a line whose time is no date (kept before red team round 44) as invalid-time, not a RangeError', () => {
    const run = {
      runId: 'r', attempt: 1, function: 'f', workspace: 'default', version: '1', trigger: 'http', initMs: 0, handlerMs: 1, queuedMs: 0, durationMs: 2,
      status: 'succeeded', httpStatus: 200, errorCode: null, errorClass: null, error: null, startedAt: 0, cold: false, start: 'warm',
      logs: [{ ts: 1e300, stream: 'stdout', msg: 'stamped' }],
    } as const;
    const shown = formatRun({ ...run, logs: [...run.logs] }, 1000).split('\n');
    assert.deepEqual(shown.slice(shown.indexOf('logs (1)') + 1), ['  invalid-time stdout  stamped']);
  });

  it('deploy names each webhook trigger\'s URL and how to get its signing secret', () => {
    assert.equal(webhookUrl('http://127.0.0.1:8080/fn/hooky/', 'github'), 'http://127.0.0.1:8080/hooks/hooky/github');
    assert.equal(webhookUrl('https://fp.example.com/fn/shop.acme/', 'stripe'), 'https://fp.example.com/hooks/shop.acme/stripe');
    const lines: string[] = [];
    const out = { line: (text = '') => lines.push(text) } as unknown as Parameters<typeof printDeploy>[0];
    const settings = parseManifest({ kind: 'function', name: 'hooky', invocation: 'async' });
    printDeploy(out, {
      function: 'hooky', created: true, settingsChanged: [], settingChanges: { added: [], changed: [], removed: [] }, settings: { ...settingsFromManifest(settings, false), name: 'hooky', auth: 'public' } as unknown as ApiFunction,
      version: 1, previousVersion: null, unchanged: false, changes: { added: [], modified: [], removed: [] }, files: 1, uploaded: 1, uploadedBytes: 1,
      invokeUrl: 'http://h/fn/hooky/', asyncUrl: 'http://h/async/hooky/', webhooks: ['github'], auth: 'public', deps: null, envFromEnvironment: [],
    });
    assert.ok(lines.includes('Webhook: http://h/hooks/hooky/github  (signed deliveries only; its secret: fastapi-platform triggers rotate-secret hooky github, docs/triggers.md)'), lines.join('\n'));
  });

  it('data rotate says when the old credentials stop working in words ("at once", not "in 0 s")', () => {
    assert.equal(oldCredentials(0), 'the old ones stopped working at once');
    assert.equal(oldCredentials(60_000), 'the old ones keep working for 1m');
    assert.equal(oldCredentials(7 * 86_400_000), 'the old ones keep working for 7d');
  });

  it('invoke --help says what a reused idempotency key with another request does', async () => {
    assert.match((await runCli(['invoke', '--help'])).stdout, /--idempotency-key KEY .*IDEMPOTENCY_KEY_REUSED/);
  });

  it('invoke with a path, a JSON body or a query pair as an argument names the option it belongs in (newcomer round 12)', async () => {
    const common = ['--url', 'http://127.0.0.1:9', '--token', 't'];
    for (const [args, text] of [
      [['invoke', 'shop', '/items/1'], /unexpected argument "\/items\/1"; a path after the function's URL goes in --path: invoke shop --path '\/items\/1'/],
      [['invoke', 'shop', '{"a": 1}'], /a request body goes in --data: invoke shop --data '\{"a": 1\}'/],
      [['invoke', 'shop', 'name=Ada'], /a query parameter goes in --query: invoke shop --query 'name=Ada'/],
      [['invoke', 'shop', 'other'], /unexpected argument "other"; use - to read the body from stdin/],
      [['invoke', '/items/1'], /"\/items\/1" is not a function name; a path after the function's URL goes in --path: invoke <name> --path '\/items\/1'/],
    ] as const) {
      const r = await runCli([...args, ...common]);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, text, args.join(' '));
    }
    assert.match((await runCli(['invoke', '--help'])).stdout, /`invoke shop --path \/items\/1 -q limit=5` calls <url>\/fn\/shop\/items\/1\?limit=5/);
  });

  it('a subcommand typed as a command names the command it belongs to (`delete shop`: functions delete)', async () => {
    for (const [word, meant] of [['delete', 'functions delete'], ['remove', 'functions delete'], ['pause', 'functions pause'], ['replay', 'runs replay']] as const) {
      const r = await runCli([word, 'shop']);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, new RegExp(`unknown command "${word}"; did you mean \`${meant}\`\\?; commands: init,`), r.stderr);
    }
    assert.match((await runCli(['deplyo'])).stderr, /unknown command "deplyo"; did you mean "deploy"\?/);
  });

  it("another tool's word for a command names it (`stats`: usage), and so does `help` of a command it does not have (new-user round 8)", async () => {
    for (const [word, meant] of [['stats', 'usage'], ['metrics', 'usage'], ['ls', 'functions'], ['history', 'runs'], ['start', 'up'], ['serve', 'dev'], ['secrets', 'env set <name> NAME=… --secret'], ['secret', 'env set <name> NAME=… --secret']] as const) {
      const r = await runCli([word]);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, new RegExp(`unknown command "${word}"; did you mean \`${meant}\`\\?`), r.stderr);
    }
    // Other tools' commands with no one command here name the ones that do their job (new-user round 15).
    for (const [word, said] of [['status', /`functions show <name>`.*`whoami`/], ['doctor', /`whoami` checks the platform and the token, `validate \[dir\]`/], ['completion', /there is no shell completion script/]] as const) {
      const r = await runCli([word]);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, new RegExp(`unknown command "${word}"; ${said.source}`), r.stderr);
    }
    // A name every JS object has is no command, and names none: `constructor` named Object's source.
    for (const word of ['constructor', 'toString', '__proto__']) {
      const r = await runCli([word]);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, new RegExp(`unknown command "${word}"; commands: init,`), r.stderr);
    }
    // `help deplyo` printed the CLI's whole help and exited 0, as if it knew the command.
    const typo = await runCli(['help', 'deplyo']);
    assert.equal(typo.code, EXIT.USAGE, typo.stdout);
    assert.equal(typo.stdout, '');
    assert.match(typo.stderr, /unknown command "deplyo"; did you mean "deploy"\?/);
    assert.match((await runCli(['help', 'stats'])).stderr, /did you mean `usage`\?/);
    const known = await runCli(['help', 'deploy']);
    assert.equal(known.code, EXIT.OK);
    assert.match(known.stdout, /^fastapi-platform deploy: /);
  });

  it('a value of a fixed set names the one meant (`--status faild`), but not for a window of time (`2h` is neither 1h nor 24h)', async () => {
    for (const [args, said] of [
      [['runs', '--status', 'faild'], /--status must be one of .*, got "faild"; did you mean "failed"\?/],
      [['runs', '--trigger', 'crn'], /--trigger must be one of .*, got "crn"; did you mean "cron"\?/],
      [['deploy', '--auth', 'tokn'], /--auth must be one of public, token, got "tokn"; did you mean "token"\?/],
      [['audit', '--action', 'rolback'], /--action must be one of .*, got "rolback"; did you mean "rollback"\?/],
    ] as const) {
      const r = await runCli([...args, '--url', 'http://127.0.0.1:9']);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, said);
    }
    const window = await runCli(['usage', '--window', '2h', '--url', 'http://127.0.0.1:9']);
    assert.equal(window.code, EXIT.USAGE);
    assert.match(window.stderr, /--window must be one of 1m, 15m, 1h, 24h, 7d, 30d, got "2h"\n/);
  });

  it('invoke --idempotency-key without --async is a usage error, not silently ignored', async () => {
    const r = await runCli(['invoke', 'shop', '--idempotency-key', 'k1', '-d', '{}', '--url', 'http://127.0.0.1:9', '--token', 't']);
    assert.equal(r.code, EXIT.USAGE, r.stderr);
    assert.match(r.stderr, /--idempotency-key needs --async/);
  });

  it('env set refuses a name the platform reserves (FP_*) before asking the server (exit 2)', async () => {
    for (const item of ['FP_MONGO_URI=mongodb://elsewhere', 'FP_OTHER=1']) {
      const r = await runCli(['env', 'set', 'shop', item, '--url', 'http://127.0.0.1:9', '--token', 't']);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, /reserved for the platform/);
    }
  });

  it('up refuses bad FP_* settings and directory mode before starting anything (exit 2, BAD_CONFIG)', async () => {
    for (const env of [{ FP_PORT: 'eighty' }, { FP_FUNCTIONS_DIR: '/srv/functions' }] as Record<string, string>[]) {
      const r = await runCli(['up', '--json'], { env: { HOME: '/nonexistent', ...env } });
      assert.equal(r.code, EXIT.USAGE, JSON.stringify(env));
      assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'BAD_CONFIG');
    }
  });
});

describe('cli deploy helpers', () => {
  it('diffs files by path and hash', () => {
    const before = [{ path: 'a.py', sha256: '1' }, { path: 'b.py', sha256: '2' }, { path: 'c.py', sha256: '3' }];
    const after = [{ path: 'a.py', sha256: '1' }, { path: 'b.py', sha256: '9' }, { path: 'd.py', sha256: '4' }];
    assert.deepEqual(diffFiles(before, after), { added: ['d.py'], modified: ['b.py'], removed: ['c.py'] });
  });

  it('takes settings from the manifest as written, and names the ones that changed', () => {
    const manifest = parseManifest({ kind: 'function', name: 'x', limits: { timeout: '5s' }, retry: { maxAttempts: 1 }, env: { A: '${A:-1}' } });
    assert.deepEqual(settingsFromManifest(manifest), {
      preset: 'http', invocation: 'both', env: { A: '1' },
      limits: { timeout: '5s', memory: '256Mi', concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100 },
      retry: { maxAttempts: 1, backoff: '1s', maxBackoff: '1m', maxEventAge: '6h' },
    });
    const fn: ApiFunction = { name: 'x', preset: 'http', invocation: 'sync', limits: { timeoutMs: 1000, memoryBytes: 1 }, env: { A: '1' }, auth: 'public', status: 'active', activeVersion: 1 };
    assert.deepEqual(changedSettings(fn, { ...fn, limits: { timeoutMs: 2000, memoryBytes: 1 }, env: {}, activeVersion: 2 }), ['limits.timeoutMs', 'env.A']);
    assert.deepEqual(changedSettings(fn, { ...fn }), []);
    assert.deepEqual(changedSettings({ ...fn, retry: { maxAttempts: 3 } }, { ...fn, retry: { maxAttempts: 1 } }), ['retry.maxAttempts']);
  });

  it('deploy says which settings it added, changed and removed (env values pushed earlier and not in platform.yaml: removed)', () => {
    const fn: ApiFunction = { name: 'x', preset: 'http', invocation: 'sync', limits: { timeoutMs: 1000, memoryBytes: 1 }, env: { A: '1', B: '2', PUSHED: 'p' }, auth: 'public', status: 'active', activeVersion: 1 };
    const after: ApiFunction = { ...fn, limits: { timeoutMs: 2000, memoryBytes: 1 }, env: { A: '1', B: '3', C: 'new' } };
    const changes = settingChanges(fn, after);
    assert.deepEqual(changes, { added: ['env.C'], changed: ['limits.timeoutMs', 'env.B'], removed: ['env.PUSHED'] });
    const lines: string[] = [];
    const notes: string[] = [];
    const out = { line: (text = '') => lines.push(text), note: (text: string) => notes.push(text) } as unknown as Parameters<typeof printDeploy>[0];
    printDeploy(out, {
      function: 'x', created: false, settingsChanged: changedSettings(fn, after), settingChanges: changes, settings: after,
      version: 2, previousVersion: 1, unchanged: true, changes: { added: [], modified: [], removed: [] }, files: 1, uploaded: 0, uploadedBytes: 0,
      invokeUrl: 'http://h/fn/x/', auth: 'public', deps: null,
      envFromEnvironment: envFromEnvironment({ env: { A: '1', B: '${B_VALUE:-3}', C: 'x-${CI_SECRET}-$$' } }),
    });
    assert.equal(lines[0], 'Function "x": settings updated (added env.C; changed limits.timeoutMs, env.B; removed env.PUSHED).');
    // A folder from elsewhere names variables of the deploying shell: each one is said (red team 3).
    assert.match(notes[0]!, /^env B ← \$\{B_VALUE\}, C ← \$\{CI_SECRET\}: taken from this shell's environment/);
    assert.match(notes.join('\n'), /Removed env PUSHED: not in platform\.yaml's env/);
  });
});

describe('cli files and output helpers', () => {
  it('ignores dotfiles, caches and bytecode by default', () => {
    assert.ok(isIgnoredByDefault('.git', true));
    assert.ok(isIgnoredByDefault('__pycache__', true));
    assert.ok(isIgnoredByDefault('node_modules', true));
    assert.ok(isIgnoredByDefault('x.pyc', false));
    assert.ok(!isIgnoredByDefault('main.py', false));
    assert.ok(!isIgnoredByDefault('__pycache__', false));
    // Editors' scratch files: emacs' backup of a saved file was uploaded by every reload and deploy (new-user round 4).
    for (const scratch of ['main.py~', '#main.py#', '4913', 'main.py.swp', 'main.py___jb_tmp___', 'main.py___jb_old___']) assert.ok(isIgnoredByDefault(scratch, false), scratch);
    for (const kept of ['main~py', 'approx.py', 'notes#1.txt', 'data.4913']) assert.ok(!isIgnoredByDefault(kept, false), kept);
  });

  it('matches .platformignore patterns', () => {
    const ignored = compileIgnore('# comment\n\n*.log\ndata/\n/top.txt\ndocs/**/*.md\ntest_?.py\n');
    assert.ok(ignored('x.log', false) && ignored('a/b/x.log', false));
    assert.ok(ignored('data', true) && ignored('a/data', true) && !ignored('data', false));
    assert.ok(ignored('top.txt', false) && !ignored('a/top.txt', false));
    assert.ok(ignored('docs/a.md', false) && ignored('docs/x/y/a.md', false) && !ignored('other/a.md', false));
    assert.ok(ignored('test_1.py', false) && !ignored('test_10.py', false));
    const more = compileIgnore('**\nlib/**/x?.py\n*.tar.gz\n[a].txt\n');
    assert.ok(more('anything/at/all.py', false));
    const lib = compileIgnore('lib/**/x?.py\n*.tar.gz\n[a].txt\n');
    assert.ok(lib('lib/x1.py', false) && lib('lib/a/b/x2.py', false) && !lib('lib/a/x12.py', false) && !lib('libx/x1.py', false));
    assert.ok(lib('a/b.tar.gz', false) && !lib('b.tarxgz', false) && lib('[a].txt', false) && !lib('a.txt', false));
  });

  it('a ! pattern uploads what the defaults or an earlier pattern leave out (the last matching line decides); .env and .git never', () => {
    const ignored = compileIgnore('*.txt\n!keep.txt\n!.well-known/\n!.config.json\n!.env\n!.git/\n');
    const out = (path: string, isDir: boolean): boolean => leftOut(ignored, path, path.slice(path.lastIndexOf('/') + 1), isDir);
    assert.deepEqual([out('a.txt', false), out('keep.txt', false), out('x/keep.txt', false)], [true, false, false]);
    assert.deepEqual([out('static/.well-known', true), out('.well-known', false), out('.config.json', false), out('.other', false)], [false, true, false, true]);
    assert.deepEqual([out('.env', false), out('.env.local', false), out('.git', true), out('sub/.env', false)], [true, true, true, true]);
    assert.deepEqual([out('main.py', false), out('__pycache__', true)], [false, true]);
    const later = compileIgnore('!a.log\n*.log\n');
    assert.equal(leftOut(later, 'a.log', 'a.log', false), true, 'a later pattern wins');
  });

  it('an .fpignore pattern with many stars is matched in linear time (red team 8: a backtracking RegExp took minutes)', () => {
    const ignored = compileIgnore(`${'*a'.repeat(8)}*b\n`);
    const started = performance.now();
    assert.equal(ignored('a'.repeat(255), false), null, 'no pattern matched');
    assert.equal(ignored(`${'a'.repeat(254)}b`, false), true);
    assert.ok(performance.now() - started < 500, `${Math.round(performance.now() - started)} ms`);
  });

  it('formats sizes, times and tables', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(50 * 1024 * 1024), '50 MiB');
    assert.equal(formatAgo(1000, 6000), '5s ago');
    assert.equal(formatAgo(0, 7_200_000), '2h ago');
    assert.equal(table(['A', 'BB'], [['xxx', 'y']]), 'A    BB\nxxx  y');
    // A cell is what someone else wrote (an env value, a label): escaped, one row one line.
    assert.equal(table(['NAME', 'VALUE'], [['X', 'a\nb \x1b[31mred\x1b]0;title\x07']]), 'NAME  VALUE\nX     a\\nb \\x1b[31mred\\x1b]0;title\\x07');
  });
});

describe('cli usage', () => {
  /** What a usage answer carries besides the figures each test is about. */
  const rest = { workspace: 'default', scaleToZero: 0, coldP50Ms: null, coldP95Ms: null, warmP50Ms: null, warmP95Ms: null, initP50Ms: null, initP95Ms: null } as const;
  it('counts in words: 1 cold start, 2 cold starts', () => {
    const u = {
      ...rest, function: 'f', window: '15m' as const, from: 0, to: 0, invocations: 1, errors: 0, coldStarts: 1, errorRate: 0, coldStartRatio: 1,
      p50Ms: 1, p95Ms: 1, p99Ms: 1, meanMs: 1, totals: { invocations: 1, errors: 1, coldStarts: 1 }, warmInstances: 1, state: 'warm' as const, lastSuccess: null,
    };
    assert.match(formatUsage(u, 0), /^all time {6}1 invocation, 1 error, 1 cold start$/m);
    assert.match(formatUsage({ ...u, totals: { invocations: 2, errors: 0, coldStarts: 2 } }, 0), /^all time {6}2 invocations, 0 errors, 2 cold starts$/m);
  });

  it('no calls in the window: no rate (as the table\'s "-"), not 0.0 %', () => {
    const u = {
      ...rest, function: 'f', window: '1m' as const, from: 0, to: 0, invocations: 0, errors: 0, coldStarts: 0, errorRate: 0, coldStartRatio: 0,
      p50Ms: null, p95Ms: null, p99Ms: null, meanMs: null, totals: { invocations: 1, errors: 0, coldStarts: 1 }, warmInstances: 1, state: 'warm' as const, lastSuccess: null,
    };
    const text = formatUsage(u, 0);
    assert.match(text, /^invocations {3}0 \(no calls in the window\)$/m, text);
    assert.match(text, /^cold starts {3}0$/m, text);
  });

  it('says when the live totals began again with the platform (a 7d window counting more than "all time")', () => {
    const u = {
      ...rest, function: 'f', window: '7d' as const, from: 0, to: 0, invocations: 5, errors: 0, coldStarts: 3, errorRate: 0, coldStartRatio: 0.6,
      p50Ms: 1, p95Ms: 1, p99Ms: 1, meanMs: 1, totals: { invocations: 0, errors: 0, coldStarts: 0 }, warmInstances: 0, state: 'cold' as const, lastSuccess: null,
    };
    const text = formatUsage(u, 0);
    assert.match(text, /^all time {6}0 invocations, 0 errors, 0 cold starts \(counted since the platform started/m);
    assert.match(text, /^last success  - \(none since the platform started\)$/m);
  });
});
