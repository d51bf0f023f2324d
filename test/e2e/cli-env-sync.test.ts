/**
 * `env push` and `env pull` as a user runs them (`node bin/fastapi-platform.js`) against a real
 * platform and a real Python function: the diff (secret values hidden), the confirmation, the new
 * configuration seen by the function at its next cold start (no redeploy), a pull that lists the
 * secret by name only, a round trip with nothing left to push — and no file anywhere (the work
 * folder, the CLI's config, the platform's state) holding the secret value in clear.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../cli/main.js';
import { runCli, spawnCli, type CliResult } from '../helpers/cli-harness.js';
import { deployed, fnName, py, usePlatform } from './platform-harness.js';

const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 };

const HANDLER = py(
  'import hashlib, os',
  'def handler(event, context):',
  '    secret = os.environ.get("DB_PASSWORD", "")',
  '    return {"greeting": os.environ.get("GREETING"), "old": os.environ.get("OLD"), "fromYaml": os.environ.get("FROM_YAML"),',
  '            "secretSha": hashlib.sha256(secret.encode()).hexdigest() if secret else None}',
);

/** Every file under `dir` (recursively). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
}

const h = usePlatform();

describe('env push and env pull', () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-envsync-'));
  const configDir = mkdtempSync(join(tmpdir(), 'fp-envsync-cfg-'));
  after(() => {
    rmSync(work, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  });
  const NAME = fnName('env');
  const SECRET = `s3cr3t-${randomBytes(12).toString('hex')}`;
  const cli = (...args: string[]): Promise<CliResult> => spawnCli(['env', ...args, '--url', h.url, '--token', h.api.token!], { cwd: work, env: { FP_CONFIG_DIR: configDir, HOME: work } });
  const call = async (): Promise<{ cold: boolean; body: Record<string, unknown> }> => {
    const res = await fetch(`${h.url}/fn/${NAME}/`);
    assert.equal(res.status, 200);
    return { cold: res.headers.get('x-cold-start') === '1', body: (await res.json()) as Record<string, unknown> };
  };

  it('push shows the diff without secret values, asks, and the function sees it at its next cold start', async () => {
    await deployed(h.api, NAME, { 'main.py': HANDLER }, { env: { GREETING: 'hello', OLD: 'gone soon' } });
    assert.equal((await call()).body['greeting'], 'hello');
    assert.equal((await call()).cold, false, 'warm before the push');

    writeFileSync(join(work, 'platform.yaml'), `kind: function\nname: ${NAME}\nenv:\n  GREETING: hello\n  FROM_YAML: "yes"\n`);
    writeFileSync(join(work, '.env'), `# mine\nGREETING='hi there'\nDB_PASSWORD='${SECRET}'  # secret\n`);

    const dry = await cli('push', NAME, '--dry-run');
    assert.equal(dry.code, EXIT.OK, dry.stderr);
    assert.match(dry.stdout, /\+ FROM_YAML="yes"/);
    assert.match(dry.stdout, /~ GREETING: "hello" → "hi there"/);
    assert.match(dry.stdout, /- OLD \(was "gone soon"\)/);
    assert.match(dry.stdout, /\+ DB_PASSWORD \(secret: value hidden\)/);
    assert.ok(!dry.stdout.includes(SECRET) && !dry.stderr.includes(SECRET));

    const unasked = await cli('push', NAME);
    assert.equal(unasked.code, EXIT.USAGE);
    assert.match(unasked.stderr, /--yes/);
    assert.equal((await call()).body['greeting'], 'hello', 'nothing applied without confirmation');

    const applied = await cli('push', NAME, '--yes', '--json');
    assert.equal(applied.code, EXIT.OK, applied.stderr);
    const answer = JSON.parse(applied.stdout) as { applied: boolean; changes: Record<string, string[]>; env: Record<string, string> };
    assert.equal(answer.applied, true);
    assert.deepEqual(answer.changes, { added: ['FROM_YAML'], changed: ['GREETING'], removed: ['OLD'], secretsSet: ['DB_PASSWORD'], secretsToPlain: [], secretsKept: [] });
    assert.ok(!applied.stdout.includes(SECRET));
    unlinkSync(join(work, '.env')); // the user's own file with the value: gone before the scan below

    const after = await call();
    assert.equal(after.cold, true, 'the change reached a new instance');
    assert.deepEqual(after.body, { greeting: 'hi there', old: null, fromYaml: 'yes', secretSha: createHash('sha256').update(SECRET).digest('hex') });
  });

  it('pull writes plain values and secret names only, refuses to overwrite, and pushes back as nothing to do', async () => {
    const pulled = await cli('pull', NAME);
    assert.equal(pulled.code, EXIT.OK, pulled.stderr);
    const file = join(work, '.env');
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^GREETING='hi there'$/m);
    assert.match(text, /^FROM_YAML='yes'$/m);
    assert.match(text, /^# secret: DB_PASSWORD$/m);
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const again = await cli('pull', NAME);
    assert.equal(again.code, EXIT.FAILURE);
    assert.match(again.stderr, /--force/);
    assert.equal((await cli('pull', NAME, '--force')).code, EXIT.OK);
    const printed = await cli('pull', NAME, '--file', '-');
    assert.match(printed.stdout, /# secret: DB_PASSWORD/);
    // The file names the command that applies it, as the CLI runs here, and the file it reads (new-user round 4).
    assert.match(text, new RegExp(`^# \`node \\S+/bin/fastapi-platform\\.js env push ${NAME}\` applies this file`, 'm'), text);
    assert.equal((await cli('pull', NAME, '--file', 'prod.env')).code, EXIT.OK);
    assert.match(readFileSync(join(work, 'prod.env'), 'utf8'), new RegExp(`^# \`\\S.* env push ${NAME} --file prod\\.env\` applies this file`, 'm'));

    const roundTrip = await cli('push', NAME, '--yes', '--json');
    assert.equal(roundTrip.code, EXIT.OK, roundTrip.stderr);
    assert.equal((JSON.parse(roundTrip.stdout) as { applied: boolean }).applied, false);
    assert.equal((await call()).body['secretSha'], createHash('sha256').update(SECRET).digest('hex'), 'the kept secret is untouched');
  });

  it('a declined confirmation changes nothing (NOT_CONFIRMED)', async () => {
    writeFileSync(join(work, 'declined.env'), "GREETING='never'\n");
    let stderr = '';
    const code = await main(['env', 'push', NAME, '--file', 'declined.env', '--url', h.url, '--token', h.api.token!], {
      io: { stdout: () => {}, stderr: (t) => { stderr += t; }, readStdin: async () => Buffer.alloc(0), confirm: async () => false },
      env: { FP_CONFIG_DIR: configDir },
      cwd: work,
      waitForSignal: () => new Promise(() => {}),
    });
    assert.equal(code, EXIT.FAILURE);
    assert.match(stderr, /not confirmed/);
    assert.equal((await call()).body['greeting'], 'hi there');
  });

  it('pull --file - on a terminal shows a value\'s control characters escaped; to a pipe, as the file has them', async () => {
    const set = await cli('set', NAME, 'COLOR=a\x1b[31mb');
    assert.equal(set.code, EXIT.OK, set.stderr);
    const argv = ['env', 'pull', NAME, '--file', '-', '--url', h.url, '--token', h.api.token!];
    const onTerminal = await runCli(argv, { cwd: work, env: { FP_CONFIG_DIR: configDir, HOME: work }, tty: true });
    assert.equal(onTerminal.code, EXIT.OK, onTerminal.stderr);
    assert.ok(!onTerminal.stdout.includes('\x1b'), 'a raw ESC reached the terminal');
    assert.match(onTerminal.stdout, /^COLOR=.*a\\x1b\[31mb/m);
    const piped = await cli('pull', NAME, '--file', '-');
    assert.ok(piped.stdout.includes('a\x1b[31mb'), piped.stdout);
  });

  it('left no file holding the secret value in clear: not the work folder, the CLI config, nor the platform state', () => {
    const needle = Buffer.from(SECRET);
    const files = [...filesUnder(work), ...filesUnder(configDir), ...filesUnder(h.stateDir)];
    assert.ok(files.some((f) => f.endsWith('platform.db')), 'the platform state was scanned');
    assert.deepEqual(files.filter((f) => readFileSync(f).includes(needle)), []);
  });
});
