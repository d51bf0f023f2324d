/**
 * A deploy whose code does not load shows what the function's load wrote (the error's message, what
 * it printed, its traceback) with its controls as escapes (red team round 26): the three went to the
 * page raw, so a bidi override in an exception's message or a print at import reordered the Code
 * tab's deploy dialog (`\u202egnp.exe` read `exe.png`), where console round ui1 had escaped logs,
 * bodies, headers and notes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleSkip, textOf, useConsole } from './console-harness.js';
import { createFunction, deploy, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

describe('the console: a refused deploy\'s output', { skip }, () => {
  it('shows the message, the load\'s output and the traceback with their controls escaped', async () => {
    const name = fnName('startctl');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {}') });
    await deploy(c.platform.api, name);
    const opened = await c.page({ hash: `#/functions/${name}/code` });
    const { page, context, problems } = opened;
    await page.locator('.cm-content').waitFor();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.insertText('print("loading \\u202egnp.exe \\x1b[31mred")\nraise RuntimeError("bad \\u202egnp.exe")\n');
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    const failure = page.getByTestId('start-failure');
    await failure.waitFor();
    const alert = await textOf(page.getByRole('dialog').getByRole('alert'));
    assert.ok(alert.includes('RuntimeError: bad \\u202egnp.exe'), JSON.stringify(alert));
    const shown = await textOf(failure);
    assert.ok(shown.includes('loading \\u202egnp.exe \\x1b[31mred'), JSON.stringify(shown));
    assert.ok(shown.includes('RuntimeError: bad \\u202egnp.exe'), JSON.stringify(shown));
    assert.equal(/[\u202e\x1b]/.test(alert + shown), false, 'no raw control reached the page');
    assert.deepEqual(problems, []);
    await context.close();
  });
});
