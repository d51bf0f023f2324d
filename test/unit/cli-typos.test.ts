/**
 * A mistyped command or subcommand names the near one (`workspaces shwo` → `did you mean "show"?`),
 * as a mistyped function name does (ADR 0055, Round 4b). Usage errors: exit 2, no request made.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';

const env = { FP_CONFIG_DIR: '/nonexistent-fp-config', FP_URL: 'http://127.0.0.1:9' };

describe('cli typos', () => {
  it('names the near command or subcommand', async () => {
    const cases: [string[], string][] = [
      [['invok', 'f'], 'invoke'],
      [['workspaces', 'shwo', 'x'], 'show'],
      [['tokens', 'lst'], 'list'],
      [['functions', 'delte', 'f'], 'delete'],
      [['data', 'rotat', 'f'], 'rotate'],
      [['env', 'sett', 'f', 'A=1'], 'set'],
      // Two letters swapped are one slip, nearer than two other edits: `lsit` named "set" (journey 11).
      [['env', 'lsit', 'f'], 'list'],
      // A choice checked by its own parser names the near value too (`--level eror`: new-user round 9).
      [['logs', 'f', '--level', 'eror'], 'error'],
      // Another word for a run's status, too far for an edit (new-user round 15: `failure` named nothing).
      [['runs', 'f', '--status', 'failure'], 'failed'],
      [['runs', 'f', '--status', 'Error'], 'failed'],
      [['runs', 'f', '--status', 'success'], 'succeeded'],
      [['runs', 'f', '--status', 'pending'], 'queued'],
    ];
    for (const [argv, near] of cases) {
      const r = await runCli(argv, { env });
      assert.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`did you mean "${near}"?`), `${argv.join(' ')}: ${r.stderr}`);
    }
    const far = await runCli(['workspaces', 'zzzzzz'], { env });
    assert.equal(far.code, EXIT.USAGE);
    assert.doesNotMatch(far.stderr, /did you mean/);
  });

  it('a duration the API would refuse (--expires 0d) is a usage error before any request', async () => {
    for (const expires of ['0d', '0.0000001s', '5y']) {
      const r = await runCli(['tokens', 'create', '--role', 'viewer', '--expires', expires], { env });
      assert.equal(r.code, EXIT.USAGE, `${expires}: ${r.stderr}`);
      assert.match(r.stderr, /--expires must be a duration/, r.stderr);
    }
  });
});
