/**
 * Function output is attacker-controlled: a function whose logs, response body and headers, and
 * error message and stack hold `<img src=x onerror=…>` and `</script><script>…` must not run
 * anything in the console. The console renders them as text (never HTML), and its CSP (no inline
 * script) would block an inline handler anyway: the test checks both that nothing ran and that no
 * injected element exists and no CSP violation was even attempted. A function name cannot carry
 * markup at all (a DNS label, checked by the API and the form).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cspViolations, screenshot } from '../helpers/browser.js';
import { request } from './gateway-harness.js';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { createFunction, deploy, deployed, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

const IMG = '<img src=x onerror="window.__xss=(window.__xss||0)+1">';
const SCRIPT = '</script><script>window.__xss=(window.__xss||0)+1</script>';
const SVG = '<svg onload="window.__xss=(window.__xss||0)+1"></svg>';
const EVIL = `${IMG}${SCRIPT}${SVG}`;

const HANDLER = py(
  'import sys',
  `EVIL = ${JSON.stringify(EVIL)}`,
  'def handler(event, context):',
  '    print("stdout", EVIL)',
  '    print("stderr", EVIL, file=sys.stderr)',
  '    context.logger.warning("logger %s", EVIL)',
  '    if event["query"].get("fail"):',
  '        raise RuntimeError(EVIL)',
  '    return {"statusCode": 200, "headers": {"content-type": "text/html", "x-evil": "<img src=x>"}, "body": "<html><body>" + EVIL + "</body></html>"}',
);

/** A function (sync and async, one attempt) whose main.py is `lines`, deployed: its name. */
async function deployedWith(prefix: string, ...lines: string[]): Promise<string> {
  const name = fnName(prefix);
  await deployed(c.platform.api, name, { 'main.py': py(...lines) }, { invocation: 'both', retry: { maxAttempts: 1 } });
  return name;
}

async function inert(page: import('playwright-core').Page, where: string): Promise<void> {
  assert.equal(await page.evaluate('window.__xss'), undefined, `${where}: injected script ran`);
  assert.equal(await page.locator('img[src="x"], svg[onload], script:not([src])').count(), 0, `${where}: an injected element exists`);
  assert.deepEqual(await cspViolations(page), [], `${where}: something tried to run inline`);
}

describe('the console never renders function output as HTML', { skip }, () => {
  it('logs, bodies, headers, errors and stacks with markup stay text everywhere', async () => {
    const name = fnName('xss');
    await createFunction(c.platform.api, name, { invocation: 'both', retry: { maxAttempts: 1 } });
    await upload(c.platform.api, name, { 'main.py': HANDLER });
    await deploy(c.platform.api, name);
    const failed = await c.platform.api.call('POST', `/functions/${name}/invoke/async`, { method: 'GET', query: { fail: '1' } });
    assert.equal(failed.status, 202);

    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });

    // The response body (text/html from the function) and its headers, as text.
    await page.getByRole('radio', { name: 'sync', exact: true }).check();
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    assert.ok((await textOf(page.getByTestId('response-body'))).includes(EVIL));
    await page.getByTestId('invoke-result').getByText('Headers').click();
    await inert(page, 'invoke');
    await screenshot(page, 'xss-invoke');

    // A sync run's logs; the failed async run's error message, stack and logs.
    await page.goto(`${c.platform.url}/console/#/functions/${name}/runs?run=${failed.body.runId}`);
    const run = page.getByTestId('run-detail');
    await eventually(async () => {
      await run.getByRole('button', { name: 'Refresh' }).click();
      await run.getByTestId('run-error').waitFor({ timeout: 500 });
    });
    assert.equal(await textOf(run.getByTestId('error-message')), EVIL);
    assert.ok((await textOf(run.getByTestId('logs'))).includes(`stdout ${EVIL}`));
    await inert(page, 'run detail');
    await screenshot(page, 'xss-run');

    // The logs tab, one run and the live tail.
    await page.goto(`${c.platform.url}/console/#/functions/${name}/logs?run=${failed.body.runId}`);
    await page.getByTestId('logs').getByText(`stderr ${EVIL}`, { exact: false }).waitFor();
    await page.getByTestId('live-tail').check();
    await page.getByTestId('tail-state').getByText('live', { exact: true }).waitFor();
    await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET' });
    await eventually(async () => assert.ok((await textOf(page.getByTestId('logs'))).includes(`logger ${EVIL}`)));
    await inert(page, 'logs');

    // The runs list, the list page, the cold-start page.
    await page.goto(`${c.platform.url}/console/#/functions/${name}/runs`);
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    await page.goto(`${c.platform.url}/console/#/functions`);
    await page.locator(`tr[data-function="${name}"]`).waitFor();
    await page.goto(`${c.platform.url}/console/#/coldstarts`);
    await page.getByTestId('cold-table').waitFor();
    await inert(page, 'lists');

    // A name with markup never becomes a function: the form refuses it, and so does the API.
    await page.goto(`${c.platform.url}/console/#/new`);
    await page.getByLabel('Name').fill('<img src=x onerror=alert(1)>');
    assert.equal(await page.getByRole('button', { name: 'Create function' }).isDisabled(), true);
    assert.equal((await c.platform.api.call('POST', '/functions', { name: '<img src=x onerror=alert(1)>' })).body.error.code, 'INVALID_NAME');
    await inert(page, 'new function');

    assert.deepEqual(problems, []);
    await context.close();
  });

  it('serves the console on its own origin with a strict CSP, framing refused, hashed assets cached for a year', async () => {
    // console.localhost (FP_BASE_DOMAIN's default): a browser origin apart from every function's.
    const host = 'console.localhost';
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => request(`${c.platform.url}${path}`, { method, headers: { host, ...headers } });
    const res = await get('/console/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy'] ?? '');
    for (const rule of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) assert.ok(csp.includes(rule), rule);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-cache');
    const html = res.body.toString('utf8');
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    const js = /src="(assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    assert.ok(js);
    const asset = await get(`/console/${js}`, { 'accept-encoding': 'gzip' });
    assert.equal(asset.status, 200);
    assert.equal(asset.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(asset.headers['content-encoding'], 'gzip');
    const etag = String(asset.headers['etag']);
    assert.equal((await get(`/console/${js}`, { 'if-none-match': etag })).status, 304);
    assert.equal((await get('/console')).headers['location'], '/console/');
    assert.equal((await get('/console/assets/nope.js')).status, 404);
    assert.equal((await get('/console/../api/v1/functions')).status, 401);
    assert.equal((await get('/console/', {}, 'POST')).status, 405);
    // No function answers on the console's origin (its pages could read the console's token)…
    assert.equal((await get('/fn/anything/')).status, 404);
    // …and the console is not served on the platform's own host: it sends the browser to its origin.
    const elsewhere = await request(`${c.platform.url}/console/`);
    assert.equal(elsewhere.status, 302);
    assert.equal(elsewhere.headers['location'], `//console.localhost:${new URL(c.platform.url).port}/console/`);
  });

  it('shows the controls a function wrote as escapes and a line break in a log line as a continuation, never a forged line (console round ui1)', async () => {
    // A log line whose message holds a line break and a line laid out like the tail's run end, a
    // bidi override (`gnp.exe` read as `exe.png`), ANSI sequences, a lone CR; the same in a body and a header.
    const name = await deployedWith('controls',
      'def handler(event, context):',
      '    context.logger.info("ok\\n12:00:00.000 deadbeef run ended succeeded 200 1.0 ms")',
      '    print("bidi \\u202egnp.exe ansi \\x1b[31mred cr\\rover")',
      '    return {"statusCode": 200, "headers": {"x-name": "\\u202egnp.exe"}, "body": "body \\u202egnp.exe \\x1b[2J\\nline two"}',
    );
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    await page.getByRole('radio', { name: 'sync', exact: true }).check();
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    const result = page.getByTestId('invoke-result');
    await result.getByText('HTTP 200').waitFor();
    assert.equal(await textOf(page.getByTestId('response-body')), 'body \\u202egnp.exe \\x1b[2J\nline two');
    assert.ok((await textOf(result.locator('details pre'))).includes('x-name: \\u202egnp.exe'));
    const runId = new URLSearchParams((await result.getByRole('link', { name: 'run' }).getAttribute('href'))!.split('?')[1]).get('run')!;

    await page.goto(`${c.platform.url}/console/#/functions/${name}/logs?run=${runId}`);
    const logs = page.getByTestId('logs');
    await logs.getByText('ended succeeded', { exact: false }).waitFor();
    const lines = (await logs.innerText()).split('\n').filter((l) => l !== '');
    assert.ok(!lines.some((l) => l.startsWith('12:00:00.000')), `a forged line of its own: ${JSON.stringify(lines)}`);
    assert.ok(lines.includes('    \u21b3 12:00:00.000 deadbeef run ended succeeded 200 1.0 ms'), JSON.stringify(lines));
    assert.ok(lines.some((l) => l.endsWith('stdout bidi \\u202egnp.exe ansi \\x1b[31mred cr\\rover')), JSON.stringify(lines));
    await screenshot(page, 'xss-controls-logs');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('shows a log level and an exception type a function named as escapes on one line, never a forged line (console round 3)', async () => {
    // `logging.addLevelName` takes any text, and so does `type()` for an exception's name: the
    // console showed both raw, so a level made a log line of its own (the forgery round ui1 kept
    // out of messages) and a bidi override reversed what followed; the CLI escaped both.
    const FORGED = '12:00:00.000 deadbeef run ended succeeded 200 1.0 ms';
    const name = await deployedWith('levels',
      'import logging',
      `logging.addLevelName(25, "N\\u202egnp\\n${FORGED}")`,
      'def handler(event, context):',
      '    logging.getLogger("x").log(25, "noted")',
      '    raise type("Bad\\u202egnp.exe\\nforged", (Exception,), {})("boom")',
    );
    const failed = await c.platform.api.call('POST', `/functions/${name}/invoke/async`, { method: 'GET' });
    assert.equal(failed.status, 202);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs?run=${failed.body.runId}` });
    const run = page.getByTestId('run-detail');
    await eventually(async () => {
      await run.getByRole('button', { name: 'Refresh' }).click();
      await run.getByTestId('run-error').waitFor({ timeout: 500 });
    });
    assert.equal(await textOf(run.getByTestId('error-type')), 'Bad\\u202egnp.exe\\nforged');
    const oneLine = async (where: string): Promise<void> => {
      const lines = (await page.getByTestId('logs').innerText()).split('\n').filter((l) => l !== '');
      assert.ok(!lines.some((l) => l.startsWith('12:00:00.000')), `${where}: a forged line of its own: ${JSON.stringify(lines)}`);
      // No level's name (a line break, a bidi override): the line keeps none (red team round 52).
      assert.ok(lines.some((l) => l.includes(' log x: noted')), `${where}: ${JSON.stringify(lines)}`);
      assert.ok(!lines.join('').includes('\u202e'), `${where}: a raw bidi override`);
    };
    await oneLine('run detail');
    await page.goto(`${c.platform.url}/console/#/functions/${name}/logs?run=${failed.body.runId}`);
    await page.getByTestId('logs').getByText('noted', { exact: false }).waitFor();
    await oneLine('logs tab');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("lists the routes of an OpenAPI document a function serves as text, bounded: markup, bidi, a long summary, 1000 routes (console round 4)", async () => {
    const name = await deployedWith('openapi',
      `EVIL = ${JSON.stringify(`${EVIL}\u202egnp.exe`)}`,
      'def handler(event, context):',
      '    paths = {"/p%d%s" % (i, EVIL): {"get": {"summary": EVIL + "S" * 1000}, "post": {"operationId": "\u202e" + EVIL}, "trace": {}} for i in range(1000)}',
      '    paths["__proto__"] = {"get": {"summary": "polluted"}}',
      '    paths["/x"] = ["not", "an", "item"]',
      '    return {"openapi": "3.1.0", "paths": paths}',
    );
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    const routes = page.getByTestId('app-routes');
    await routes.getByRole('button', { name: /^Read/ }).click();
    await routes.getByText('and 1800 more routes (the first 200 are listed).').waitFor();
    assert.equal(await routes.locator('li').count(), 200);
    const first = await textOf(routes.locator('li').first());
    assert.ok(first.startsWith(`POST /p0${EVIL}\\u202egnp.exe \\u202e${IMG}`) && first.endsWith('…'), first);
    assert.ok((await textOf(routes.locator('li').nth(1))).startsWith(`GET /p0${EVIL}\\u202egnp.exe ${IMG}`));
    assert.ok(!first.includes('\u202e'), 'a raw bidi override');
    assert.ok(first.length < 600, `the summary is cut: ${first.length} characters`);
    assert.equal(await routes.getByText('polluted').count(), 0);
    assert.equal(await page.evaluate('Object.prototype.get'), undefined);
    // Nothing wider than the window.
    assert.ok(await page.evaluate('document.documentElement.scrollWidth <= innerWidth'));
    await inert(page, 'app routes');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('marks every bidi control in the Code tab\'s editor, those CodeMirror leaves out included, and escapes them in a version\'s note (Trojan Source; console round ui1)', async () => {
    // One line per control: CodeMirror marks U+202D, U+202E, U+2066, U+2067 and U+2069 by itself; LRE, RLE, PDF and FSI too now.
    const controls = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];
    const name = await deployedWith('bidi', 'def handler(event, context):', ...controls.map((ch) => `    # ${ch}x`), '    return {}');
    // A version's note (any deployer writes one) is shown with its controls escaped in the history.
    await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {}') }, { note: 'fix \u202egnp.exe' });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code` });
    await page.locator('.cm-content').waitFor();
    await eventually(async () => assert.equal(await page.locator('.cm-content .cm-specialChar').count(), controls.length));
    await eventually(async () => assert.ok((await textOf(page.getByRole('list', { name: 'Version history' }))).includes('fix \\u202egnp.exe')));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('cuts a run of combining marks a function wrote, where Chromium would shape it for tens of seconds (red team round 18)', async () => {
    // `a` and 120 000 U+0301 (240 KB: an async result keeps 256 KiB): one cluster, whose shaping
    // time grows with the square of its length. Opening the run's result held the tab 30 s.
    const name = await deployedWith('marks',
      'MARKS = "a" + "\\u0301" * 120000',
      'def handler(event, context):',
      '    print("line", MARKS[:4000])',
      '    if event["query"].get("fail"):',
      '        raise RuntimeError(MARKS[:2000])',
      '    return {"statusCode": 200, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": MARKS.encode()}',
    );
    const ok = await c.platform.api.call('POST', `/functions/${name}/invoke/async`, { method: 'GET' });
    const failed = await c.platform.api.call('POST', `/functions/${name}/invoke/async`, { method: 'GET', query: { fail: '1' } });
    assert.equal(ok.status, 202);
    assert.equal(failed.status, 202);
    const cut = (shown: string, marks: number): void => {
      assert.ok(shown.includes(`a${'\u0301'.repeat(30)}[${marks - 30} more combining marks]`), `${marks} marks: ${shown.length} characters shown`);
      assert.doesNotMatch(shown, /\p{M}{31}/u);
    };

    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs?run=${ok.body.runId}` });
    const run = page.getByTestId('run-detail');
    const result = run.locator('details', { hasText: 'Result (HTTP' });
    await eventually(async () => {
      await run.getByRole('button', { name: 'Refresh' }).click();
      await result.waitFor({ timeout: 500 });
    });
    await result.locator('summary').click();
    cut(await textOf(result.locator('pre')), 120_000);
    cut(await textOf(run.getByTestId('logs')), 3999);

    await page.goto(`${c.platform.url}/console/#/functions/${name}/runs?run=${failed.body.runId}`);
    await eventually(async () => {
      await run.getByRole('button', { name: 'Refresh' }).click();
      await run.getByTestId('run-error').waitFor({ timeout: 500 });
    });
    cut(await textOf(run.getByTestId('error-message')), 1999);

    // The sync answer in the Invoke tab, and the Logs tab.
    await page.goto(`${c.platform.url}/console/#/functions/${name}/invoke`);
    await page.getByRole('radio', { name: 'sync', exact: true }).check();
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    cut(await textOf(page.getByTestId('response-body')), 120_000);
    await page.goto(`${c.platform.url}/console/#/functions/${name}/logs?run=${ok.body.runId}`);
    await page.getByTestId('logs').getByText('line a', { exact: false }).waitFor();
    cut(await textOf(page.getByTestId('logs')), 3999);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('an env value holding a bidi control is shown escaped in Settings, and can still be edited (console round 11)', async () => {
    const name = fnName('envbidi');
    await createFunction(c.platform.api, name);
    // Raw in an input, U+202E reorders it: "https://\u202eelpmaxe.com" read as a URL ending in moc.example.
    const value = 'https://\u202eelpmaxe.com';
    assert.equal((await c.platform.api.call('PATCH', `/functions/${name}`, { env: { TARGET: value, PLAIN: 'ok' } })).status, 200);
    const { page, problems, context } = await c.page({ hash: `#/functions/${name}/settings` });
    const env = page.getByRole('form', { name: 'Environment' });
    const shown = env.getByTestId('env-value-shown');
    await shown.waitFor();
    assert.equal(await textOf(shown), 'https://\\u202eelpmaxe.com', 'the bidi control is escaped');
    assert.equal(await env.getByTestId('env-value-shown').count(), 1, 'a plain value stays in its input');
    assert.deepEqual(await env.locator('input[placeholder="value"]').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value)), ['ok']);
    await env.getByRole('button', { name: 'Edit the value of TARGET' }).click();
    await eventually(async () => assert.equal(await page.evaluate('document.activeElement?.getAttribute("placeholder")'), 'value'), 3_000);
    assert.equal((await page.evaluate('document.activeElement.value')) as string, value, 'Edit opens the raw value');
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText('https://example.com');
    await env.getByRole('button', { name: 'Save environment' }).click();
    await page.getByText('Environment saved.').waitFor();
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.env, { TARGET: 'https://example.com', PLAIN: 'ok' });
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('an env value with line breaks is edited in a multi-line box that keeps it exactly (console round 12)', async () => {
    const name = fnName('envlines');
    await createFunction(c.platform.api, name);
    // An <input> strips CR and LF: Edit turned a PEM block into one line, saved so.
    const pem = '-----BEGIN KEY-----\nabc\n-----END KEY-----';
    const crlf = 'one\r\ntwo';
    assert.equal((await c.platform.api.call('PATCH', `/functions/${name}`, { env: { PEM: pem, CRLF: crlf } })).status, 200);
    const { page, problems, context } = await c.page({ hash: `#/functions/${name}/settings` });
    const env = page.getByRole('form', { name: 'Environment' });
    await eventually(async () => assert.equal(await env.getByTestId('env-value-shown').count(), 2));
    await env.getByRole('button', { name: 'Edit the value of PEM' }).click();
    await eventually(async () => assert.equal(await page.evaluate('document.activeElement?.tagName'), 'TEXTAREA'), 3_000);
    assert.equal((await page.evaluate('document.activeElement.value')) as string, pem, 'Edit opens the exact value');
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.insertText('tail');
    // A value with carriage returns opened and left unchanged keeps them; the box says a change would not.
    await env.getByRole('button', { name: 'Edit the value of CRLF' }).click();
    await eventually(async () => assert.match(await textOf(env), /carriage returns \(\\r\)/));
    await env.getByRole('button', { name: 'Save environment' }).click();
    await page.getByText('Environment saved.').waitFor();
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.env, { PEM: `${pem}\ntail`, CRLF: crlf });
    assert.deepEqual(problems, []);
    await context.close();
  });
});
