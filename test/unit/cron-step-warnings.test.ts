/**
 * A cron step past its field's range (`*\/90 * * * *`, meant as every 90 minutes) is valid and
 * matches one value only: `validate` and `deploy` warn of it (new-user round 9: nothing was said,
 * and the function ran hourly), and so does the server's `POST /validate` (the console's checks:
 * they said nothing, loose ends round 7), all through reportProblems. Steps within the range say nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { preflight } from '../../cli/preflight.js';
import type { PythonPreflight } from '../../cli/python.js';
import { cronStepWarnings, reportProblems } from '../../protocol/index.js';

describe('cron steps past their field', () => {
  it('names the field, the one value matched and what the step counts within', () => {
    assert.deepEqual(cronStepWarnings('*/90 * * * *'), ['"*/90" in the minute field matches minute 0 only: a step counts within 0-59 and starts again each hour, so this is not every 90 minutes']);
    assert.match(cronStepWarnings('0 10-20/15 * * *')[0] ?? '', /"10-20\/15" in the hour field matches hour 10 only: a step counts within 10-20 and starts again each day/);
    assert.match(cronStepWarnings('0 0 0 */40 * *')[0] ?? '', /in the day-of-month field matches day 1 only/);
    for (const fine of ['*/5 * * * *', '0 */5 * * * *', '5 4 * * 1-5', '0 0 */2 * *', '@hourly', 'not a schedule']) assert.deepEqual(cronStepWarnings(fine), [], fine);
  });

  const dir = mkdtempSync(join(tmpdir(), 'fp-cron-step-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const runPython: PythonPreflight = async () => ({
    python: '3.11.7', checked: 1, syntaxErrors: [], problems: [], warnings: [],
    entrypoint: { module: 'main', attr: 'handler', file: null, line: null, kind: null, async: null, arity: null },
  });

  it('validate warns at the trigger, and the folder stays valid', async () => {
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: tick\ninvocation: async\ntriggers:\n  - type: cron\n    schedule: "*/90 * * * *"\n');
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return {}\n');
    const found = await preflight(dir, 'python3', {}, { runPython });
    assert.equal(found.ok, true, JSON.stringify(found.problems));
    const warning = found.warnings.find((w) => w.path === 'triggers.0.schedule');
    assert.match(warning?.message ?? '', /"\*\/90" in the minute field matches minute 0 only/);
  });

  it("reportProblems (the CLI's and the server's checks) warns of it at the trigger's schedule, and of no other trigger", () => {
    const report = { python: '3.11.7', checked: 1, syntaxErrors: [], problems: [], warnings: [], entrypoint: { module: 'main', attr: 'handler', file: null, line: null, kind: null, async: null, arity: null } };
    const found = reportProblems(report, null, [{ type: 'webhook' }, { type: 'cron', schedule: '*/5 * * * *' }, { type: 'cron', schedule: '0 */30 * * *' }]);
    assert.deepEqual(found.problems, []);
    assert.deepEqual(found.warnings.map((w) => [w.kind, w.file, w.path]), [['manifest', 'platform.yaml', 'triggers.2.schedule']]);
    assert.match(found.warnings[0]!.message, /"\*\/30" in the hour field matches hour 0 only/);
  });
});
