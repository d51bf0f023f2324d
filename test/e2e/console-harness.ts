/**
 * The console's browser tests: a real platform (in this process, real Python runtimes) and a real
 * Chromium per test file, a signed-in page, and waiting for the page to show something (never for
 * a guessed delay).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type { StartOptions } from '../../platform/index.js';
import { browserSkip, launchBrowser, recordCspViolations, watchPage } from '../helpers/browser.js';
import { Api, usePlatform, type PlatformHarness } from './platform-harness.js';

/** Skip reason for the whole file (no Chromium outside CI; the console not built). */
export function consoleSkip(): string | false {
  const browser = browserSkip();
  if (browser !== false) return browser;
  if (!existsSync(join(process.cwd(), 'dist', 'console', 'index.html'))) {
    const why = 'the console is not built (node dist/scripts/build-console.js; scripts/setup.sh does it)';
    if (process.env['CI']) throw new Error(why);
    return `skipped: ${why}`;
  }
  return false;
}

export interface ConsoleHarness {
  platform: PlatformHarness;
  browser: Browser;
  /**
   * Opens a page signed in (with the admin token unless `token` is given) at `#/…` (a new context: its
   * own session storage). `clock`: Playwright's clock is installed before the first load (time still
   * flows), so a test can run the page's polls forward (`page.clock.fastForward`) instead of waiting them out.
   */
  page(options?: { viewport?: { width: number; height: number }; hash?: string; token?: string; timezoneId?: string; clock?: boolean }): Promise<{ page: Page; context: BrowserContext; problems: string[] }>;
}

export function useConsole(options: StartOptions, skip: string | false): ConsoleHarness {
  const h = { platform: usePlatform(options) } as ConsoleHarness;
  before(async () => {
    if (skip !== false) return;
    h.browser = await launchBrowser();
  });
  after(async () => {
    await h.browser?.close();
  });
  h.page = async (opts = {}) => {
    const token = opts.token ?? h.platform.api.token!;
    // The context and the token's session (what the sign-in form would store) at once.
    const [context, session] = await Promise.all([
      h.browser.newContext({ viewport: opts.viewport ?? { width: 1360, height: 900 }, reducedMotion: 'reduce', ...(opts.timezoneId !== undefined ? { timezoneId: opts.timezoneId, locale: 'en-US' } : {}) }),
      sessionOf(h.platform.url, token),
    ]);
    const page = await context.newPage();
    await recordCspViolations(page);
    const { problems } = watchPage(page);
    await signedIn(page, session);
    if (opts.clock === true) await page.clock.install();
    await page.goto(`${h.platform.url}/console/${opts.hash ?? ''}`);
    // Signed in: the header's Sign out (and the functions list when no page was named).
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    if (opts.hash === undefined) await page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    return { page, context, problems };
  };
  return h;
}

/** The console's session key and record (console/src/auth.ts): what its sign-in form stores after `GET /whoami`. */
const SESSION_KEY = 'fp.console.session';

/** The session the sign-in form would store for `token`, from the same `GET /whoami` it calls. */
async function sessionOf(url: string, token: string): Promise<string> {
  const who = await new Api(url, token).call('GET', '/whoami');
  assert.equal(who.status, 200, JSON.stringify(who.body));
  const { label, role, workspace, kind, expiresAt } = who.body as { label: string; role: string; workspace: string; kind: string; expiresAt: number | null };
  return JSON.stringify({ token, label, role, workspace, root: kind === 'admin', signedInAt: Date.now(), ...(expiresAt !== null ? { expiresAt } : {}) });
}

/**
 * Signs `page` in as the sign-in form does (its session in the tab's sessionStorage), before its
 * first load and only then: a sign-out or an ended session stays so across reloads, and another
 * tab of the context starts signed out, as a new tab does. The form itself is tested where a test
 * signs in through it (console-journey: a wrong token, then the admin's; console-edges, console-conflicts,
 * console-team).
 * This saves a load of the sign-in page, its whoami and the functions list per page (about half a second a page in console-edges, back to back; noisy).
 */
async function signedIn(page: Page, session: string): Promise<void> {
  await page.addInitScript(({ key, value }) => {
    if (sessionStorage.getItem('fp.test.seeded') !== null) return;
    sessionStorage.setItem('fp.test.seeded', '1');
    sessionStorage.setItem(key, value);
  }, { key: SESSION_KEY, value: session });
}

/** Retries `check` until it stops throwing (the page updates on its own schedule), up to `ms`. */
export async function eventually<T>(check: () => Promise<T>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function textOf(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? '';
}

/** Replaces the editor's text (CodeMirror in its shadow root; insertText skips auto-indent and bracket closing). */
export async function setEditorText(page: Page, text: string): Promise<void> {
  const content = page.locator('.cm-content');
  await content.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  assert.equal((await content.innerText()).replace(/\u00a0/g, ' ').trim().split('\n')[0], text.split('\n')[0]);
}

/** Types `text` at the end of the open file in the Code tab's editor. */
export async function typeAtEnd(page: Page, text: string): Promise<void> {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText(text);
}
