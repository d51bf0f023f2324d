/**
 * Console round 13: the journey's core — edit, deploy, invoke, roll back — with the keyboard only
 * (Tab, Shift+Tab, the arrow keys, Enter, Escape; no click), the focus visible at each stop, the
 * Deploy dialog keeping the focus inside while open and giving it back to Deploy… when closed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { deployed, fnName, py } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

/** What has the focus (page code, as text): a short description, and whether its ring shows. */
const FOCUSED = `(() => {
  let el = document.activeElement;
  // The editor is in a shadow root (console/src/editor): its host is the document's active element.
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body) return { what: 'body', ring: false, inDialog: false };
  // CodeMirror draws the ring on its editor box (.cm-focused), not on its content.
  const ringed = el.closest('.cm-editor') || el;
  const style = getComputedStyle(ringed);
  const ring = (ringed !== el || el.matches(':focus-visible')) && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const name = (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 40);
  return { what: el.tagName.toLowerCase() + (el.getAttribute('data-testid') ? '#' + el.getAttribute('data-testid') : '') + ' ' + name, ring, inDialog: document.activeElement.closest('dialog[open]') !== null };
})()`;

interface Focused { what: string; ring: boolean; inDialog: boolean }

async function focused(page: Page): Promise<Focused> {
  return page.evaluate(FOCUSED) as Promise<Focused>;
}

/** What has the focus, once its ring shows (CodeMirror marks its box focused a frame later); fails when it does not. */
async function ringed(page: Page): Promise<Focused> {
  return eventually(async () => {
    const f = await focused(page);
    if (f.what !== 'body') assert.ok(f.ring, `no visible focus on ${f.what}`);
    return f;
  }, 1000);
}

/** Presses Tab (or Shift+Tab) until the focus is on what `is` accepts, each stop's ring visible. */
async function tabTo(page: Page, is: (f: Focused) => boolean, back = false, most = 60): Promise<Focused> {
  const seen: string[] = [];
  for (let i = 0; i < most; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await ringed(page);
    seen.push(f.what);
    if (is(f)) return f;
  }
  throw new Error(`not reached by ${back ? 'Shift+Tab' : 'Tab'}; stops: ${seen.join(' | ')}`);
}

describe('the console by keyboard only (console round 13)', { skip }, () => {
  it('edits, deploys, invokes and rolls back with Tab, arrows, Enter and Escape', async () => {
    await journey({ width: 1360, height: 900 });
  });

  it('does the same on a phone 360 px wide, the page never scrolling sideways', async () => {
    await journey({ width: 360, height: 800 });
  });

  it('Enter on Deploy… pressed right after Escape opens the dialog again, and it stays open (the late close event closed it: CI)', async () => {
    const name = fnName('keys');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {"v": 1}') });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code`, viewport: { width: 1360, height: 900 } });
    await page.locator('.cm-content').getByText('return {"v": 1}').waitFor();
    await tabTo(page, (f) => f.what.startsWith('div Code editor'));
    await page.keyboard.insertText('# changed\n');
    await page.keyboard.press('Escape');
    await eventually(async () => assert.equal(await page.getByRole('button', { name: 'Deploy…' }).isEnabled(), true));
    await tabTo(page, (f) => f.what === 'button Deploy…', true);
    const dialog = page.getByRole('dialog');
    for (let round = 0; round < 5; round++) {
      await page.keyboard.press('Enter');
      await dialog.getByTestId('confirm-deploy').waitFor();
      // The two keys back to back: the second reaches Deploy… before the first's close event is handled.
      await Promise.all([page.keyboard.press('Escape'), page.keyboard.press('Enter')]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await dialog.getByTestId('confirm-deploy').isVisible(), true, `round ${round}: the dialog did not stay open`);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
    }
    assert.deepEqual(problems, []);
    await context.close();
  });
});

/** Edit, deploy, invoke and roll back at `viewport`, with the keyboard only. */
async function journey(viewport: { width: number; height: number }): Promise<void> {
  const name = fnName('keys');
  await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {"v": 1}') });
  const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code`, viewport });
  page.on('dialog', (d) => void d.accept());
  await page.locator('.cm-content').getByText('return {"v": 1}').waitFor();

  // Into the editor from the page's start; change the answer.
  await tabTo(page, (f) => f.what.startsWith('div Code editor'));
  // Deleted first, as setEditorText does: text typed over a selection of several lines makes Chromium's
  // editing try an inline style, which the CSP refuses (a console error, not the console's).
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText('def handler(event, context):\n    return {"v": 2}\n');
  // Out of the editor (Escape, then Tab: CodeMirror's way out when Tab indents) to Deploy….
  await page.keyboard.press('Escape');
  const deployButton = (f: Focused): boolean => f.what === 'button Deploy…';
  await eventually(async () => assert.equal(await page.getByRole('button', { name: 'Deploy…' }).isEnabled(), true));
  await tabTo(page, deployButton, true);

  // The dialog: focus inside it, kept inside by Tab; Escape closes it and gives the focus back.
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.getByTestId('confirm-deploy').waitFor();
  assert.equal((await focused(page)).inDialog, true, 'the focus went into the dialog');
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    const f = await ringed(page);
    assert.ok(f.inDialog, `Tab left the dialog: ${f.what}`);
  }
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await focused(page)).what, 'button Deploy…', 'the focus back on Deploy…');
  await page.keyboard.press('Enter');
  await dialog.getByTestId('confirm-deploy').waitFor();
  await tabTo(page, (f) => f.what.startsWith('button#confirm-deploy'));
  await page.keyboard.press('Enter');
  await page.locator('.fn-head').getByText('version 2').waitFor();

  // To the Invoke tab with the tab list's arrow keys, then Invoke.
  await tabTo(page, (f) => f.what.startsWith('a Code'), true);
  await page.keyboard.press('ArrowRight');
  await eventually(async () => assert.match((await focused(page)).what, /^a Invoke/));
  await tabTo(page, (f) => f.what === 'button Invoke');
  await page.keyboard.press('Enter');
  await eventually(async () => assert.match(await textOf(page.getByTestId('response-body')), /"v": ?2/));

  // Back to Code; roll back to version 1 (asked first: accepted).
  await tabTo(page, (f) => f.what.startsWith('a Invoke'), true);
  await page.keyboard.press('ArrowLeft');
  await eventually(async () => assert.match((await focused(page)).what, /^a Code/));
  await tabTo(page, (f) => f.what.startsWith('button#rollback'));
  await page.keyboard.press('Enter');
  await page.locator('.fn-head').getByText('version 1').waitFor();
  const answer = await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET' });
  assert.match(JSON.stringify(answer.body), /\\"v\\": ?1|"v": ?1/);
  assert.equal(await page.evaluate('document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth'), 0, 'the page scrolls sideways');
  assert.deepEqual(problems, []);
  await context.close();
}
