/**
 * Test helper: a real Chromium (Debian's `chromium` package, /usr/bin/chromium; FP_CHROMIUM to use
 * another) driven by playwright-core, headless, for the console's end-to-end tests. `npx playwright
 * install` downloads browsers and cannot work here: scripts/services.sh installs the apt package.
 * When Chromium is missing, `browserSkip()` returns a reason to skip with, unless `CI` is set: in
 * CI a missing browser is a failure, never a silent skip.
 *
 * Screenshots go to test-results/console/ (gitignored); a few are copied to docs/console/ by hand.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'console');

export function chromiumPath(): string | null {
  for (const path of [process.env['FP_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => p !== undefined && p !== '')) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return null;
}

/** A reason to skip browser tests, or false. Throws in CI when Chromium is missing. */
export function browserSkip(): string | false {
  if (chromiumPath() !== null) return false;
  const why = 'Chromium not found at /usr/bin/chromium (install it: apt-get install chromium, or run scripts/services.sh; FP_CHROMIUM names another)';
  if (process.env['CI']) throw new Error(`${why}; CI is set, so the console tests must run`);
  return `skipped: ${why}`;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath()!, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** Collects what must never happen on a console page: script errors, CSP violations, console errors. */
export function watchPage(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of (4\d\d|503)/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  return { problems };
}

/** Records CSP violations in the page (run before any script of the page). */
export async function recordCspViolations(page: Page): Promise<void> {
  // Page code, as text: this file is compiled without the DOM's types.
  await page.addInitScript(`window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`);
}

export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate('window.__csp || []') as Promise<string[]>;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
