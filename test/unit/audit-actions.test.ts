/** The audit actions the CLI accepts are exactly those the control plane writes, and docs/api.md names each. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AUDIT_ACTIONS } from '../../protocol/index.js';
import { DEPLOY_ACTIONS } from '../../controlplane/store/types.js';
import { EXIT } from '../../cli/errors.js';
import { detailText } from '../../cli/commands/audit.js';
import { ROOT, runCli } from '../helpers/cli-harness.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('audit actions', () => {
  it('every action the control plane writes is in AUDIT_ACTIONS, and each is documented', () => {
    const written = new Set<string>(DEPLOY_ACTIONS);
    for (const file of sources(join(ROOT, 'controlplane'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/audit\(call, '([a-z.-]+)'/g)) written.add(m[1]!);
      for (const m of text.matchAll(/action: '(data\.[a-z]+)'/g)) written.add(m[1]!);
    }
    assert.ok(written.size >= 20, `found ${written.size}`);
    for (const action of written) assert.ok((AUDIT_ACTIONS as readonly string[]).includes(action), `${action} is written but not in AUDIT_ACTIONS`);
    const api = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
    for (const action of AUDIT_ACTIONS) assert.ok(api.includes(`\`${action}\``), `docs/api.md does not name ${action}`);
  });

  it('audit --action with a typo is a usage error listing the actions, before asking the platform', async () => {
    const r = await runCli(['audit', '--action', 'deploys', '--url', 'http://127.0.0.1:1', '--token', 'fpa_x']);
    assert.equal(r.code, EXIT.USAGE, r.stderr);
    assert.match(r.stderr, /--action must be one of .*deploy, rollback/);
  });

  it('prints a time in an entry\'s detail as ISO 8601, not epoch milliseconds', () => {
    assert.equal(detailText({ role: 'viewer', expiresAt: 1804220376480 }), 'role=viewer expiresAt=2027-03-05T04:19:36Z');
    assert.equal(detailText({ count: 3, expiresAt: null }), 'count=3 expiresAt=null');
  });
});
