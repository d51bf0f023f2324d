import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { int, parseCommandArgs, splitCommand } from '../../cli/args.js';
import { checkFunctionName } from '../../cli/function-name.js';
import { loadCliEnv, profileOf, resolveTarget, withoutProfile, withProfile, DEFAULT_URL } from '../../cli/config.js';
import { devDepsRoot } from '../../cli/dev/local.js';
import { CliError, EXIT } from '../../cli/errors.js';
import { parseHeaders, parseServerTiming, queryRecord, splitQuery } from '../../cli/commands/invoke.js';
import { isRunId, runsTarget } from '../../cli/commands/runs.js';
import { nameFromFolder } from '../../cli/commands/init.js';

function exitOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CliError);
    return err.exitCode;
  }
  assert.fail('no error');
}

describe('cli argument parsing', () => {
  it('finds the command after global options, also when they take a value', () => {
    assert.deepEqual(splitCommand(['--url', 'http://x', 'deploy', 'dir']), { command: 'deploy', rest: ['--url', 'http://x', 'dir'] });
    assert.deepEqual(splitCommand(['--json', 'runs']), { command: 'runs', rest: ['--json'] });
    assert.deepEqual(splitCommand(['--url=http://x', 'up']), { command: 'up', rest: ['--url=http://x'] });
    assert.deepEqual(splitCommand(['--help']), { command: null, rest: ['--help'] });
  });

  it('parses command options with the global ones, repeated and short forms', () => {
    const options = { header: { type: 'string' as const, short: 'H', multiple: true, description: '' }, data: { type: 'string' as const, short: 'd', description: '' } };
    const args = parseCommandArgs(['hello', '-H', 'a: 1', '--header', 'b:2', '-d', '{"x":1}', '--json', '-'], options, 'invoke');
    assert.deepEqual(args.positionals, ['hello', '-']);
    assert.deepEqual(args.values.header, ['a: 1', 'b:2']);
    assert.equal(args.values.data, '{"x":1}');
    assert.equal(args.values.json, true);
  });

  it('turns unknown options and missing values into usage errors (exit 2)', () => {
    assert.equal(exitOf(() => parseCommandArgs(['--nope'], {}, 'init')), EXIT.USAGE);
    assert.equal(exitOf(() => parseCommandArgs(['--url'], {}, 'init')), EXIT.USAGE);
  });

  it('checks whole-number options', () => {
    const opts = { limit: { type: 'string' as const, description: '' } };
    assert.equal(int(parseCommandArgs(['--limit', '5'], opts, 'runs'), 'limit', 20, 1, 100), 5);
    assert.equal(int(parseCommandArgs([], opts, 'runs'), 'limit', 20, 1, 100), 20);
    for (const bad of ['0', '101', '1.5', 'x', '-1']) {
      assert.equal(exitOf(() => int(parseCommandArgs([`--limit=${bad}`], opts, 'runs'), 'limit', 20, 1, 100)), EXIT.USAGE);
    }
  });

  it('parses headers, Server-Timing and the query of a path', () => {
    assert.deepEqual(parseHeaders(['Content-Type: text/plain', 'X-A:b:c']), { 'content-type': 'text/plain', 'x-a': 'b:c' });
    assert.equal(exitOf(() => parseHeaders(['nocolon'])), EXIT.USAGE);
    assert.deepEqual(parseServerTiming('queue;dur=0, init;dur=8.61, handler;dur=0.17, total;dur=10.93'), { queue: 0, init: 8.61, handler: 0.17, total: 10.93 });
    assert.deepEqual(parseServerTiming(null), {});
    assert.deepEqual(splitQuery('/a?x=1&y'), ['/a', 'x=1&y']);
    assert.deepEqual(splitQuery('/a'), ['/a', null]);
    assert.deepEqual(queryRecord('a=1&b=2&b=3&c'), { a: '1', b: ['2', '3'], c: '' });
  });

  it('tells run ids from function names', () => {
    const id = '0595a4d9-30bc-4700-b80f-d690a1bbf93f';
    assert.ok(isRunId(id));
    assert.deepEqual(runsTarget([id]), { show: id });
    assert.deepEqual(runsTarget(['show', 'abc']), { show: 'abc' });
    assert.deepEqual(runsTarget(['hello']), { list: 'hello' });
    assert.deepEqual(runsTarget([]), { list: undefined });
    assert.equal(exitOf(() => runsTarget(['Not/A/Name'])), EXIT.USAGE);
    assert.equal(exitOf(() => runsTarget(['show'])), EXIT.USAGE);
    assert.deepEqual(runsTarget(['cancel', id]), { cancel: id });
    assert.deepEqual(runsTarget(['replay', id]), { replay: id });
    assert.equal(exitOf(() => runsTarget(['replay'])), EXIT.USAGE);
  });

  it('derives a function name from a folder name', () => {
    assert.equal(nameFromFolder('My App_2'), 'my-app-2');
    assert.equal(nameFromFolder('--x--'), 'x');
    // A letter with an accent keeps its letter (new-user round 8: `Café Ünï` made `caf-n`).
    assert.equal(nameFromFolder('Café Ünï'), 'cafe-uni');
    assert.equal(nameFromFolder('my proj é'), 'my-proj-e');
    assert.equal(nameFromFolder('日本'), null);
    assert.equal(nameFromFolder('___'), null);
    assert.equal(nameFromFolder('a'.repeat(80))?.length, 63);
  });
});

describe('cli configuration', () => {
  it('reads only its variables; empty counts as unset', () => {
    const env = loadCliEnv({ FP_URL: 'http://h:1', FP_TOKEN: '', HOME: '/h' }, '/home/u');
    assert.equal(env.url, 'http://h:1');
    assert.equal(env.token, undefined);
    assert.equal(env.configDir, '/home/u/.config/fastapi-platform');
    assert.equal(loadCliEnv({ FP_CONFIG_DIR: '/c' }, '/home/u').configDir, '/c');
    assert.equal(loadCliEnv({ XDG_CONFIG_HOME: '/x' }, '/home/u').configDir, '/x/fastapi-platform');
    assert.equal(env.cacheDir, '/home/u/.cache/fastapi-platform');
    assert.equal(loadCliEnv({ FP_CACHE_DIR: '/k', XDG_CACHE_HOME: '/x' }, '/home/u').cacheDir, '/k');
    assert.equal(loadCliEnv({ XDG_CACHE_HOME: '/x' }, '/home/u').cacheDir, '/x/fastapi-platform');
  });

  it('devDepsRoot: one folder of dependency sites per function folder, under the cache directory', () => {
    const a = devDepsRoot('/k', '/src/a');
    assert.match(a, /^\/k\/dev\/[0-9a-f]{16}\/deps$/);
    assert.equal(devDepsRoot('/k', '/src/a'), a);
    assert.notEqual(devDepsRoot('/k', '/src/b'), a);
  });

  it('checkFunctionName: a DNS label passes as it is; anything else is one usage error for every command', () => {
    assert.equal(checkFunctionName('my-fn'), 'my-fn');
    for (const bad of ['ünï', 'My-Fn', '-x', 'x'.repeat(64), '']) {
      assert.throws(() => checkFunctionName(bad), (err: Error) => err.message === `${JSON.stringify(bad)} is not a function name (lower-case letters, digits and inner hyphens, at most 63)`, bad);
    }
  });

  it('resolves the target: flag > env > credentials > default, and keeps a saved token to its own URL', () => {
    const env = loadCliEnv({}, '/h');
    const saved = { url: 'http://127.0.0.1:9000', token: 'saved', invokeTokens: {} };
    assert.deepEqual(resolveTarget({}, env, null), { url: DEFAULT_URL, token: undefined, workspace: undefined, source: 'default' });
    assert.deepEqual(resolveTarget({}, env, saved), { url: 'http://127.0.0.1:9000', token: 'saved', workspace: undefined, source: 'credentials' });
    const fromEnv = loadCliEnv({ FP_URL: 'http://other:1/', FP_TOKEN: 't-env' }, '/h');
    assert.deepEqual(resolveTarget({}, fromEnv, saved), { url: 'http://other:1', token: 't-env', workspace: undefined, source: 'env', tokenSavedFor: 'http://127.0.0.1:9000' });
    // A URL given elsewhere does not get the saved token of another platform; the error can say where it is saved.
    assert.equal(resolveTarget({ url: 'http://elsewhere:1' }, env, saved).token, undefined);
    assert.equal(resolveTarget({ url: 'http://elsewhere:1' }, env, saved).tokenSavedFor, 'http://127.0.0.1:9000');
    // localhost and 127.0.0.1 on the same port and scheme are this machine's one platform (new-user round).
    assert.equal(resolveTarget({ url: 'http://localhost:9000' }, env, saved).token, 'saved');
    // …sent to the saved address itself: `localhost` may resolve to ::1, where another process could listen.
    assert.equal(resolveTarget({ url: 'http://localhost:9000/' }, env, saved).url, 'http://127.0.0.1:9000');
    assert.equal(resolveTarget({ url: 'http://localhost:9000', token: 'given' }, env, saved).url, 'http://localhost:9000');
    assert.equal(resolveTarget({ url: 'http://[::1]:9000' }, env, saved).token, 'saved');
    assert.equal(resolveTarget({ url: 'http://localhost:9001' }, env, saved).token, undefined);
    assert.equal(resolveTarget({ url: 'https://localhost:9000' }, env, saved).token, undefined);
    assert.equal(resolveTarget({ url: 'http://fn.localhost:9000' }, env, saved).token, undefined);
    assert.equal(resolveTarget({ url: 'http://127.0.0.1:9000/' }, env, saved).token, 'saved');
    assert.equal(resolveTarget({ token: 'flag' }, fromEnv, saved).token, 'flag');
    // Not a URL: a usage error naming where it came from (it was "cannot reach the platform").
    assert.throws(() => resolveTarget({ url: 'notaurl' }, env, saved), (err: { exitCode?: number; message: string }) => /^--url must be an http:\/\/ or https:\/\/ URL .*got "notaurl"/.test(err.message));
    assert.throws(() => resolveTarget({}, loadCliEnv({ FP_URL: '127.0.0.1:8080' }, '/h'), null), (err: Error) => /^FP_URL must be an http/.test(err.message));
  });

  it('resolves the workspace: flag > FP_WORKSPACE > the profile\'s (only for its own URL)', () => {
    const saved = { url: 'http://127.0.0.1:9000', token: 'saved', workspace: 'acme', invokeTokens: {} };
    assert.equal(resolveTarget({}, loadCliEnv({}, '/h'), saved).workspace, 'acme');
    assert.equal(resolveTarget({}, loadCliEnv({ FP_WORKSPACE: 'env-ws' }, '/h'), saved).workspace, 'env-ws');
    assert.equal(resolveTarget({ workspace: 'flag-ws' }, loadCliEnv({ FP_WORKSPACE: 'env-ws' }, '/h'), saved).workspace, 'flag-ws');
    assert.equal(resolveTarget({ url: 'http://elsewhere:1' }, loadCliEnv({}, '/h'), saved).workspace, undefined);
  });

  it('finds profiles: the top level is the default one, a named one or PROFILE_NOT_FOUND; saving keeps the others', () => {
    const file = { url: 'http://a:1', token: 'ta', invokeTokens: {}, stateDir: '/s', profiles: { work: { url: 'http://b:2', token: 'tb', workspace: 'acme', invokeTokens: {} } } };
    assert.equal(profileOf(file, undefined)?.token, 'ta');
    assert.equal(profileOf(file, 'default')?.token, 'ta');
    assert.equal(profileOf(file, 'work')?.workspace, 'acme');
    assert.throws(() => profileOf(file, 'nope'), (err: unknown) => (err as { code?: string }).code === 'PROFILE_NOT_FOUND');
    // A typo names the profile meant (new-user round 3: `--profile acem` listed the profiles alone).
    assert.throws(() => profileOf(file, 'wrok'), (err: Error) => /^no profile "wrok" in the credentials file; did you mean "work"\? \(profiles: default, work\)/.test(err.message));
    assert.throws(() => profileOf(file, 'nope'), (err: Error) => !/did you mean/.test(err.message));
    const added = withProfile(file, 'home', { url: 'http://c:3', token: 'tc', invokeTokens: {} });
    assert.deepEqual(Object.keys(added.profiles ?? {}).sort(), ['home', 'work']);
    assert.equal(added.token, 'ta');
    const relogged = withProfile(file, 'default', { url: 'http://a:1', token: 'new', invokeTokens: {} });
    assert.equal(relogged.token, 'new');
    assert.equal(relogged.stateDir, undefined, "another token is not the one `up` saved for its state directory");
    assert.equal(relogged.profiles?.work?.token, 'tb');
    const out = withoutProfile(file, 'work');
    assert.deepEqual(Object.keys(out.profiles ?? {}), []);
    assert.equal(withoutProfile(file, 'default').token, undefined);
  });
});

describe('parseCommandArgs: an unknown option names the one meant (newcomer round 7)', () => {
  const options = { 'dry-run': { type: 'boolean' as const, description: '' }, message: { type: 'string' as const, description: '' } };
  const messageOf = (argv: string[]): string => {
    try {
      parseCommandArgs(argv, options, 'deploy');
    } catch (err) {
      assert.ok(err instanceof CliError);
      assert.equal(err.exitCode, EXIT.USAGE);
      return err.message;
    }
    assert.fail('parsed');
  };

  it('`--dryrun`, `--mesage`: did you mean; nothing near: the plain error', () => {
    assert.match(messageOf(['--dryrun']), /^Unknown option '--dryrun'; did you mean "--dry-run"\?\nRun `fastapi-platform deploy --help`/);
    assert.match(messageOf(['--mesage', 'x']), /did you mean "--message"\?/);
    assert.match(messageOf(['--zzzzzz']), /^Unknown option '--zzzzzz'\nRun/);
  });

  it("another tool's word for an option (`tokens create --name`, kubectl's `logs --tail`): the option meant, only if the command has it", () => {
    const tokens = { label: { type: 'string' as const, description: '' }, expires: { type: 'string' as const, description: '' } };
    const messageIn = (table: typeof tokens | typeof options, argv: string[]): string => {
      try {
        parseCommandArgs(argv, table, 'tokens');
      } catch (err) {
        return (err as Error).message;
      }
      return assert.fail('parsed');
    };
    assert.match(messageIn(tokens, ['--name', 'ci']), /^Unknown option '--name'; did you mean "--label"\?/);
    assert.match(messageIn(tokens, ['--ttl', '1d']), /did you mean "--expires"\?/);
    assert.match(messageIn(options, ['--name', 'x']), /^Unknown option '--name'\nRun/, 'deploy has no --label: nothing suggested');
    // `runs --function gql` (a guess from other CLIs): the function is an argument, for a command that takes one.
    const runsUsage = 'runs [name] [--status S] | runs [show] <runId>';
    const inRuns = (argv: string[]): string => {
      try {
        parseCommandArgs(argv, options, 'runs', runsUsage);
      } catch (err) {
        return (err as Error).message;
      }
      return assert.fail('parsed');
    };
    assert.match(inRuns(['--function', 'gql']), /^Unknown option '--function'; the function is an argument, not an option: fastapi-platform runs \[name\] \[--status S\]\nRun/);
    assert.match(inRuns(['--fn=gql']), /the function is an argument, not an option/);
    assert.match(messageIn(tokens, ['--function', 'x']), /^Unknown option '--function'\nRun/, 'tokens takes no function: nothing suggested');
  });
});
