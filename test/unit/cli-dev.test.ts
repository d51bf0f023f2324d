/** `dev`'s pure parts: .env parsing, which changes reload, the .env → secrets patch, and how calls print. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chown, lchown, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CallPrinter, formatCall, formatLogLine, printable, type RunView } from '../../cli/dev/calls.js';
import { secretsPatch } from '../../cli/dev/reload.js';
import { isRelevantChange } from '../../cli/dev/watch.js';
import { MAX_DOTENV_BYTES, readDotenv } from '../../cli/dotenv.js';
import { Output } from '../../cli/output.js';
import { smallFileHooks, smallFileText } from '../../cli/small-file.js';

describe('cli dev: .env', () => {
  it('reads the folder\'s .env as values (dotenv format, cli/dotenv.ts); no file is no values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-dev-env-'));
    try {
      assert.deepEqual(await readDotenv(dir), { present: false, values: {}, problems: [], fromEnvironment: [] });
      await writeFile(join(dir, '.env'), ['# a comment', 'PLAIN=hello world   # trailing', 'export EXPORTED=1', 'DOUBLE="a\\nb"', 'TOKEN=x # secret'].join('\n'));
      assert.deepEqual(await readDotenv(dir), { present: true, values: { PLAIN: 'hello world', EXPORTED: '1', DOUBLE: 'a\nb', TOKEN: 'x' }, problems: [], fromEnvironment: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports each bad line with the file and its number, and keeps the good ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-dev-env-'));
    try {
      await writeFile(join(dir, '.env'), ['OK=1', 'no equals sign', '1BAD=x', "AFTER='x' y"].join('\n'));
      const { values, problems } = await readDotenv(dir);
      assert.deepEqual(values, { OK: '1' });
      assert.deepEqual(problems.map((p) => [p.file, p.line]), [['.env', 2], ['.env', 3], ['.env', 4]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('cli dev: a hostile repository\'s .env (red team round 39)', () => {
  /** A home with a credentials file, and a cloned repository beside it (`.git`, its app in backend/). */
  async function layout(): Promise<{ root: string; home: string; repo: string; app: string }> {
    const root = await mkdtemp(join(tmpdir(), 'fp-dev-env-'));
    const home = join(root, 'home');
    const repo = join(home, 'src', 'evil');
    const app = join(repo, 'backend');
    await mkdir(join(home, '.aws'), { recursive: true });
    await writeFile(join(home, '.aws', 'credentials'), 'aws_access_key_id = AKIASECRET\naws_secret_access_key = verysecret\n');
    await mkdir(join(repo, '.git'), { recursive: true });
    await mkdir(app, { recursive: true });
    return { root, home, repo, app };
  }

  it('does not follow a .env link out of the repository (dev gave its values to the repository\'s code)', async () => {
    const { root, home, app } = await layout();
    try {
      await symlink(join(home, '.aws', 'credentials'), join(app, '.env'));
      const read = await readDotenv(app);
      assert.deepEqual(read.values, {});
      assert.equal(read.present, true);
      assert.match(read.problems[0]?.message ?? '', /outside .* not read/);
      // The code's env_file="../../../.aws/credentials": deploy read it and named its keys.
      const named = await readDotenv(app, join('..', '..', '..', '.aws', 'credentials'));
      assert.deepEqual(named.values, {});
      assert.match(named.problems[0]?.message ?? '', /outside/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reads a link inside the repository, and the ../.env of a folder without one', async () => {
    const { root, repo, app } = await layout();
    try {
      await writeFile(join(repo, '.env'), 'SHARED=1\n');
      await symlink(join('..', '.env'), join(app, '.env'));
      assert.deepEqual((await readDotenv(app)).values, { SHARED: '1' });
      assert.deepEqual((await readDotenv(app, join('..', '.env'))).values, { SHARED: '1' });
      await rm(join(repo, '.git'), { recursive: true });
      assert.deepEqual((await readDotenv(app, join('..', '.env'))).values, { SHARED: '1' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('takes neither the whole parent of a folder without a repository nor a home kept in git for its repository (red team round 40)', async () => {
    const { root, home, repo } = await layout();
    const savedHome = process.env.HOME;
    try {
      await rm(join(repo, '.git'), { recursive: true });
      // Unpacked without .git right in the home (an archive, degit): its parent, the home, was its tree.
      const unpacked = join(home, 'unpacked');
      await mkdir(unpacked);
      await symlink(join('..', '.aws', 'credentials'), join(unpacked, '.env'));
      await writeFile(join(repo, '.env'), 'OTHER_PROJECT=secret\n');
      await writeFile(join(home, 'src', '.env'), 'PARENT=1\n');
      const read = await readDotenv(unpacked);
      assert.deepEqual(read.values, {});
      assert.match(read.problems[0]?.message ?? '', /outside .* not read/);
      // Beside another project: the parent's own .env is read (../.env of FastAPI's template), not the other project's.
      const beside = join(home, 'src', 'beside');
      await mkdir(beside);
      await symlink(join('..', 'evil', '.env'), join(beside, '.env'));
      assert.deepEqual((await readDotenv(beside)).values, {});
      assert.deepEqual((await readDotenv(beside, join('..', 'evil', '.env'))).values, {});
      assert.deepEqual((await readDotenv(beside, join('..', '.env'))).values, { PARENT: '1' });
      // A home kept in git (dotfiles): a folder under it without a .git of its own is no part of the home's repository.
      process.env.HOME = home;
      await mkdir(join(home, '.git'));
      const deep = join(home, 'src', 'evil', 'backend');
      await symlink(join('..', '..', '..', '.aws', 'credentials'), join(deep, '.env'));
      const dotfiles = await readDotenv(deep);
      assert.deepEqual(dotfiles.values, {});
      assert.match(dotfiles.problems[0]?.message ?? '', /outside .* not read/);
      assert.deepEqual((await readDotenv(deep, join('..', '.env'))).values, { OTHER_PROJECT: 'secret' }); // its own parent's
      assert.deepEqual((await readDotenv(unpacked)).values, {}); // right in the home: the folder alone
    } finally {
      if (savedHome === undefined) delete process.env.HOME;
      else process.env.HOME = savedHome;
      await rm(root, { recursive: true, force: true });
    }
  });

  it("takes no other user's .git for a repository (one planted in /tmp above a clone there; red team round 40)", { skip: process.getuid?.() !== 0 ? 'chown needs root' : false }, async () => {
    const { root, home, repo } = await layout();
    try {
      // The clone has no .git of its own; a local user planted one above it, to make the tree theirs.
      await rm(join(repo, '.git'), { recursive: true });
      await mkdir(join(home, 'src', '.git'));
      await chown(join(home, 'src', '.git'), 65534, 65534);
      await mkdir(join(home, 'src', 'other'));
      await writeFile(join(home, 'src', 'other', '.env'), 'OTHER_PROJECT=secret\n');
      await symlink(join('..', 'other', '.env'), join(repo, '.env'));
      const read = await readDotenv(repo);
      assert.deepEqual(read.values, {});
      assert.match(read.problems[0]?.message ?? '', /outside .* not read/);
      await chown(join(home, 'src', '.git'), process.getuid!(), process.getgid!());
      assert.deepEqual((await readDotenv(repo)).values, { OTHER_PROJECT: 'secret' }, 'the user\'s own repository holds both');
      // Red team round 41: a link the other user planted, to a folder of the user's (a stat follows
      // it and finds the user's), and a .git of the user's in a folder of another user's.
      await rm(join(home, 'src', '.git'), { recursive: true });
      await symlink(repo, join(home, 'src', '.git'));
      await lchown(join(home, 'src', '.git'), 65534, 65534);
      assert.deepEqual((await readDotenv(repo)).values, {}, 'a link another user planted made a repository');
      await rm(join(home, 'src', '.git'));
      await mkdir(join(home, 'src', '.git'));
      await chown(join(home, 'src'), 65534, 65534);
      assert.deepEqual((await readDotenv(repo)).values, {}, 'a folder of another user\'s holding a .git made a repository');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reads nothing that a folder swapped for a link between the check and the open led to (red team round 40)', { skip: process.platform !== 'linux' }, async () => {
    const { root, home, repo } = await layout();
    try {
      await mkdir(join(repo, 'conf'));
      await writeFile(join(repo, 'conf', '.env'), 'MINE=1\n');
      await mkdir(join(home, 'other'));
      await writeFile(join(home, 'other', '.env'), 'OTHER_PROJECT=secret\n');
      assert.equal(await smallFileText(join(repo, 'conf', '.env'), 1024, { root: repo }, ''), 'MINE=1\n');
      smallFileHooks.beforeOpen = async () => {
        await rename(join(repo, 'conf'), join(repo, 'conf-was'));
        await symlink(join(home, 'other'), join(repo, 'conf'));
      };
      const read = await smallFileText(join(repo, 'conf', '.env'), 1024, { root: repo }, '');
      assert.ok(typeof read === 'object' && read !== null && /replaced while it was read/.test(read.refused), JSON.stringify(read));
    } finally {
      delete smallFileHooks.beforeOpen;
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a FIFO (the command hung) and a file over the size limit, at once', { timeout: 10_000 }, async () => {
    const { root, app } = await layout();
    try {
      execFileSync('mkfifo', [join(app, '.env')]);
      const fifo = await readDotenv(app);
      assert.deepEqual(fifo.values, {});
      assert.match(fifo.problems[0]?.message ?? '', /not a regular file/);
      await rm(join(app, '.env'));
      await writeFile(join(app, '.env'), `BIG=${'x'.repeat(MAX_DOTENV_BYTES)}\n`);
      const big = await readDotenv(app);
      assert.deepEqual(big.values, {});
      assert.match(big.problems[0]?.message ?? '', /bytes, over the/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('cli dev: what counts as a change', () => {
  it('code, data, platform.yaml, .env and .platformignore do; caches, bytecode, VCS and editor files do not', () => {
    for (const path of ['main.py', 'platform.yaml', '.env', '.platformignore', 'lib/util.py', 'data/x.json', 'lib']) {
      assert.equal(isRelevantChange(path), true, path);
    }
    for (const path of ['__pycache__/main.cpython-311.pyc', 'main.pyc', '.git/index', '.venv/lib/x.py', 'lib/.env', 'node_modules/a/b.js',
      '.main.py.swp', 'main.py~', '4913', '#main.py#', '.pytest_cache/v', 'lib/__pycache__', '.hidden']) {
      assert.equal(isRelevantChange(path), false, path);
    }
  });
});

describe('cli dev: .env values as secrets', () => {
  it('sends new and changed values, and null for names no longer there', () => {
    const before = new Map([['A', '1'], ['B', '2'], ['C', '3']]);
    assert.deepEqual(secretsPatch(before, { A: '1', B: 'two', D: '4' }), { B: 'two', D: '4', C: null });
    assert.deepEqual(secretsPatch(before, { A: '1', B: '2', C: '3' }), {});
    assert.deepEqual(secretsPatch(new Map(), {}), {});
  });
});

describe('cli dev: calls', () => {
  const run = (over: Partial<RunView> = {}): RunView => ({
    runId: '5868c7ce-0000-4000-8000-000000000000', function: 'hello', version: '3', trigger: 'http', cold: true, initMs: 3.6,
    durationMs: 4.6, status: 'succeeded', httpStatus: 200, errorCode: null, error: null, startedAt: Date.UTC(2026, 0, 1), logs: [], ...over,
  });

  it('one line per call: status, duration, cold (with init) or warm, version, trigger, run id', () => {
    const cold = formatCall(run());
    assert.match(cold, /  200  4\.6 ms  cold \(init 3\.6 ms\)  v3  http  run 5868c7ce-0000-4000-8000-000000000000$/);
    const failed = formatCall(run({ cold: false, status: 'failed', httpStatus: 502, errorCode: 'FUNCTION_ERROR', attempt: 2, trigger: 'async' }));
    assert.match(failed, /  502 FUNCTION_ERROR  4\.6 ms  warm  v3  async attempt 2  run /);
    // The request, when the record has it, escaped.
    assert.match(formatCall(run({ method: 'GET', path: '/items/3' })), /\d  GET \/items\/3  200  4\.6 ms  cold/);
    assert.match(formatCall(run({ method: 'GET', path: '/\x1b[2J' })), /GET \/\\x1b\[2J  200/);
  });

  it('prints streamed lines at once, and at the end only the lines not shown yet, with the error', () => {
    let text = '';
    const printer = new CallPrinter(new Output({ stdout: (t) => { text += t; }, stderr: () => undefined, readStdin: async () => Buffer.alloc(0) }, false));
    const streamed = { stream: 'stdout', ts: Date.UTC(2026, 0, 1), msg: 'step one' };
    const last = { stream: 'log', level: 'ERROR', ts: Date.UTC(2026, 0, 1), msg: 'went wrong' };
    printer.logs('hello', run().runId, [streamed]);
    printer.run(run({ status: 'failed', httpStatus: 502, errorCode: 'FUNCTION_ERROR', logs: [streamed, last], error: { type: 'ValueError', message: 'bad', file: 'main.py', line: 4 } }));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /5868c7ce  stdout   step one$/);
    assert.match(lines[1]!, /502 FUNCTION_ERROR/);
    assert.equal(lines[2], '  error    ValueError: bad (main.py:4)');
    assert.equal(lines[3], '  ERROR    went wrong');
  });

  it("a call that read env it lacks: the error, then what sets it in dev (.env), as runs <id> says it for deploy (new-user round 9)", () => {
    let text = '';
    const printer = new CallPrinter(new Output({ stdout: (t) => { text += t; }, stderr: () => undefined, readStdin: async () => Buffer.alloc(0) }, false));
    const stack = 'Traceback (most recent call last):\n  File "/code/main.py", line 9, in handler\n    return os.environ["MISSING_VAR"]\nKeyError: \'MISSING_VAR\'\n';
    printer.run(run({ status: 'failed', httpStatus: 500, errorCode: 'FUNCTION_ERROR', error: { type: 'KeyError', message: "'MISSING_VAR'", file: 'main.py', line: 9, stack } }));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[1], "  error    KeyError: 'MISSING_VAR' (main.py:9)");
    assert.match(lines[2]!, /^  It reads env MISSING_VAR, which the function does not have: dev sets the folder's \.env .*Add MISSING_VAR=… to \.env/);
    // dev --remote sends no .env: the hint is deploy's (platform.yaml's env, or a secret), with the CLI as it runs.
    text = '';
    const remote = new CallPrinter(new Output({ stdout: (t) => { text += t; }, stderr: () => undefined, readStdin: async () => Buffer.alloc(0) }, false), { dotenv: false, self: 'fp' });
    remote.run(run({ status: 'failed', httpStatus: 500, errorCode: 'FUNCTION_ERROR', error: { type: 'KeyError', message: "'MISSING_VAR'", file: 'main.py', line: 9, stack } }));
    assert.match(text, /deploy sets platform\.yaml's `env:` and does not read \.env\. .*`fp env set hello MISSING_VAR=… --secret`/);
  });

  it("never passes a function's control characters to the terminal (escape sequences show as \\xNN); tabs and line breaks stay", () => {
    assert.equal(printable('a\x1b]0;pwned\x07b\tc'), 'a\\x1b]0;pwned\\x07b\\tc');
    assert.equal(printable('\x9b2J'), '\\x9b2J');
    assert.equal(formatLogLine({ stream: 'stdout', ts: 0, msg: 'one\ntwo\x1b[31m' }), '  stdout   one\n  stdout   two\\x1b[31m');
  });

  it("prints a message of several lines (log.exception's traceback) as lines each with the columns, as logs does (ADR 0224)", () => {
    let text = '';
    const printer = new CallPrinter(new Output({ stdout: (t) => { text += t; }, stderr: () => undefined, readStdin: async () => Buffer.alloc(0) }, false));
    const traceback = { stream: 'log', level: 'ERROR', ts: Date.UTC(2026, 0, 1), msg: 'caught it\r\nTraceback (most recent call last):\n  File "/code/main.py", line 17\nValueError: x\r\n' };
    printer.logs('hello', run().runId, [traceback]);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    for (const line of lines) assert.match(line, /^\d\d:\d\d:\d\d\.\d{3}  5868c7ce  ERROR    /);
    assert.match(lines[0]!, /ERROR    caught it$/);
    assert.match(lines[2]!, /ERROR      File "\/code\/main\.py", line 17$/);
    // A line break cannot start a line that reads as a call's: every line keeps this run's columns; a lone \r stays escaped.
    assert.equal(formatLogLine({ stream: 'stdout', ts: 0, msg: 'ok\n12:00:01.234  GET / 200  1 ms  warm  v1  http  run x\ra' }, 'C'), 'C  stdout   ok\nC  stdout   12:00:01.234  GET / 200  1 ms  warm  v1  http  run x\\ra');
  });

  it('with --json: a log event per streamed line, then a call event with the rest of the logs', () => {
    let text = '';
    const printer = new CallPrinter(new Output({ stdout: (t) => { text += t; }, stderr: () => undefined, readStdin: async () => Buffer.alloc(0) }, true));
    const streamed = { stream: 'stdout', ts: 1, msg: 'a' };
    const last = { stream: 'stdout', ts: 2, msg: 'b' };
    printer.logs('hello', run().runId, [streamed]);
    printer.run(run({ logs: [streamed, last] }));
    const events = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(events.map((e) => e.event), ['log', 'call']);
    assert.equal(events[0]!.msg, 'a');
    assert.deepEqual(events[1]!.logs, [last]);
    assert.equal(events[1]!.cold, true);
    assert.equal(events[1]!.httpStatus, 200);
  });
});
