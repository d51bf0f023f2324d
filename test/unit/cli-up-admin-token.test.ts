/**
 * `up` and FP_ADMIN_TOKEN_FILE (ADR 0135, docs/cli.md `up`): `--admin-token-file FILE` or the
 * variable, relative to where `up` runs, the flag first; a token the start issues then goes to the
 * file (0600) and is not shown, nor put in `--json`'s `started` event. Before, `up` (and so `npm
 * start`) showed it whatever the variable said: under a service manager, into the journal.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCommandArgs } from '../../cli/args.js';
import { adminTokenBanner, platformOptions, upCommand } from '../../cli/commands/up.js';
import type { Context } from '../../cli/context.js';

const work = mkdtempSync(join(tmpdir(), 'fp-up-token-'));
after(() => rmSync(work, { recursive: true, force: true }));

const optionsOf = (argv: string[], platformEnv: Record<string, string> = {}) => {
  const ctx = { cwd: '/srv/app', env: { platformEnv, configDir: join(work, 'config'), runtimeEnv: {} } } as unknown as Context;
  return platformOptions(ctx, parseCommandArgs(argv, upCommand.options!, 'up'));
};

describe('up: the admin token file', () => {
  it('takes --admin-token-file or FP_ADMIN_TOKEN_FILE, relative to where up runs, the flag first; neither: none', async () => {
    assert.equal((await optionsOf(['--admin-token-file', 'secrets/admin-token'])).adminTokenFile, '/srv/app/secrets/admin-token');
    assert.equal((await optionsOf([], { FP_ADMIN_TOKEN_FILE: 'token' })).adminTokenFile, '/srv/app/token');
    assert.equal((await optionsOf(['--admin-token-file', '/etc/fp/admin-token'], { FP_ADMIN_TOKEN_FILE: '/elsewhere' })).adminTokenFile, '/etc/fp/admin-token');
    assert.equal((await optionsOf([])).adminTokenFile, undefined);
  });

  it('writes an issued token to the file (0600) and shows it nowhere; without one shows it as before; a file it cannot write is said and the token shown', () => {
    const file = join(work, 'admin-token');
    const token = 'fpa_test-token-value';
    const written = adminTokenBanner(token, file, '/home/u/.config/fastapi-platform/credentials.json');
    assert.equal(readFileSync(file, 'utf8'), `${token}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(written.event, { adminTokenFile: file });
    assert.ok(!written.lines.join('\n').includes(token), written.lines.join('\n'));
    assert.match(written.lines.join('\n'), /written to .*admin-token \(mode 0600, not shown here\); saved for the CLI in .*credentials\.json/);
    const shown = adminTokenBanner(token, undefined, 'creds.json');
    assert.deepEqual(shown.event, { adminToken: token });
    assert.ok(shown.lines.includes(`  ${token}`));
    const unwritable = adminTokenBanner(token, join(work, 'no-such-dir', 'admin-token'), 'creds.json');
    assert.deepEqual(unwritable.event, { adminToken: token });
    assert.match(unwritable.lines[0]!, /could not be written to .*no-such-dir\/admin-token \(ENOENT\): shown here instead/);
    assert.ok(unwritable.lines.includes(`  ${token}`));
  });
});
