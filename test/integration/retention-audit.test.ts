/**
 * Retention of the audit log (FP_AUDIT_RETENTION, docs/adr/0011-tenants.md): the retention task
 * that prunes runs prunes audit entries after their own retention, on a real SQLite store, with
 * a fake clock; entries inside the window stay, in order.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FaultLog } from '../../controlplane/fault-log.js';
import { RunRetention } from '../../controlplane/runs/retention.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { testKeyring } from '../helpers/keyring.js';

const DAY = 86_400_000;

describe('audit log retention', () => {
  it('prunes entries older than the audit retention, not the run retention, and keeps the rest in order', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-audit-retention-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const store = await openSqliteStore({ keyring: testKeyring(), stateDir: dir });
    t.after(() => store.close());
    const now = 1_800_000_000_000;
    const append = (daysAgo: number, target: string) => store.audit.append({
      at: now - daysAgo * DAY, actor: { tokenId: 'tok_a', label: 'admin', role: 'root' }, address: '127.0.0.1',
      workspace: 'default', action: 'function.update', target, detail: {},
    });
    for (const [daysAgo, target] of [[100, 'old'], [91, 'just-past'], [89, 'inside'], [2, 'recent']] as const) await append(daysAgo, target);
    // Runs are kept 1 day; the audit log 90 days: the two retentions are separate.
    const retention = new RunRetention(store.runs, { retentionMs: DAY, intervalMs: DAY, now: () => now, audit: { store: store.audit, retentionMs: 90 * DAY } });
    await retention.pruneNow();
    await retention.stop();
    assert.deepEqual((await store.audit.list({})).items.map((e) => e.target), ['recent', 'inside']);
  });
});

// ops round 4: a store that fails every check (down, closed) made one log line per check, every
// 10 s for as long as it lasted. With the control plane's FaultLog: one line, then a count.
describe('run retention: a store that fails every check', () => {
  it('is told once, then counted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-retention-faults-'));
    try {
      const store = await openSqliteStore({ keyring: testKeyring(), stateDir: dir });
      await store.close();
      const lines: string[] = [];
      const faults = new FaultLog((line) => lines.push(line));
      const retention = new RunRetention(store.runs, { retentionMs: DAY, intervalMs: DAY, maxBytes: 1_000_000, log: (line) => lines.push(line), faults });
      for (let i = 0; i < 3; i++) await retention.pruneNow();
      await retention.stop();
      faults.close();
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0]!, /^controlplane: pruning runs failed: /);
      assert.match(lines[1]!, /^controlplane: pruning runs failed: .*: 2 more times in the last/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
