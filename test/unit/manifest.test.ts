import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventFormatOf, ManifestError, parseManifest, resolveEnvValue } from '../../protocol/index.js';
import { generatePlatformSchema } from '../../scripts/gen-schema.js';

function issuesOf(raw: unknown, platformEnv: Record<string, string> = {}): Record<string, string> {
  try {
    parseManifest(raw, { platformEnv });
  } catch (err) {
    assert.ok(err instanceof ManifestError);
    assert.equal(err.code, 'BAD_MANIFEST');
    return Object.fromEntries(err.issues.map((i) => [i.path, i.message]));
  }
  assert.fail('the manifest was accepted');
}

describe('parseManifest', () => {
  it('fills the defaults of a minimal manifest', () => {
    assert.deepEqual(parseManifest({ kind: 'function', name: 'hello' }), {
      kind: 'function',
      name: 'hello',
      entrypoint: 'main:handler',
      runtime: 'http',
      invocation: 'both',
      triggers: [],
      limits: { timeoutMs: 30_000, memoryBytes: 256 * 1024 ** 2, concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100 },
      retry: { maxAttempts: 3, backoffBaseMs: 1000, backoffMaxMs: 60_000, maxEventAgeMs: 6 * 3_600_000 },
      env: {},
      errors: 'generic',
      event: 'platform',
    });
  });

  it('takes event: platform or lambda (API Gateway\'s event for a handler), nothing else; a stored manifest without it is the platform\'s', () => {
    assert.equal(parseManifest({ kind: 'function', name: 'l', event: 'lambda' }).event, 'lambda');
    assert.throws(() => parseManifest({ kind: 'function', name: 'l', event: 'apigw' }), /event/);
    assert.deepEqual([eventFormatOf({ event: 'lambda' }), eventFormatOf({}), eventFormatOf(null), eventFormatOf({ event: 'x' })], ['lambda', 'platform', 'platform', 'platform']);
  });

  it("entrypoint main.handler (Lambda's module.function) names the module:attr meant (new-user round 9)", () => {
    assert.match(issuesOf({ kind: 'function', name: 'l', entrypoint: 'main.handler' }).entrypoint ?? '', /^must be module:attr, .*; did you mean "main:handler"\? \(Lambda writes module\.function/);
    assert.match(issuesOf({ kind: 'function', name: 'l', entrypoint: 'app.api.handler' }).entrypoint ?? '', /did you mean "app\.api:handler"\?/);
    for (const entrypoint of ['main', 'main handler', 'main:', '.handler']) assert.doesNotMatch(issuesOf({ kind: 'function', name: 'l', entrypoint }).entrypoint ?? '', /did you mean/, entrypoint);
  });

  it('reads every key, converting human units once', () => {
    const m = parseManifest({
      kind: 'function',
      name: 'api-v2',
      entrypoint: 'pkg.app:app',
      runtime: 'webhook',
      invocation: 'async',
      triggers: [{ type: 'cron', schedule: '*/5 * * * *' }, { type: 'webhook', id: 'gh' }],
      limits: { timeout: '500ms', memory: '1Gi', concurrency: 8, maxInstances: 3, minWarm: 1, maxQueue: 0 },
      env: { MODE: 'prod' },
      version: 'v7',
    });
    assert.equal(m.entrypoint, 'pkg.app:app');
    assert.equal(m.runtime, 'webhook');
    assert.equal(m.invocation, 'async');
    assert.equal(m.triggers.length, 2);
    assert.deepEqual(m.limits, { timeoutMs: 500, memoryBytes: 1024 ** 3, concurrency: 8, maxInstances: 3, minWarm: 1, maxQueue: 0 });
    assert.deepEqual(m.env, { MODE: 'prod' });
    assert.equal(m.version, 'v7');
  });

  it('reports unknown keys with their path, all at once', () => {
    const issues = issuesOf({ kind: 'function', name: 'x', handler: 'main', limits: { timeout: '1s', cpu: 2 }, triggers: [{ type: 'webhook', id: 'gh', secret: 's' }] });
    assert.deepEqual(Object.keys(issues).sort(), ['handler', 'limits.cpu', 'triggers.0.secret']);
  });

  it('an unknown key names the key meant, or the keys taken there', () => {
    const issues = issuesOf({ kind: 'function', name: 'x', limit: {}, limits: { max_instances: 2, Memory: '1Gi', cpu: 2 }, triggers: [{ type: 'cron', schedule: '* * * * *', timezon: 'UTC' }], retry: { attempts: 3 } });
    assert.equal(issues['limit'], 'unknown key; did you mean "limits"?');
    assert.equal(issues['limits.max_instances'], 'unknown key; did you mean "maxInstances"?');
    assert.equal(issues['limits.Memory'], 'unknown key; did you mean "memory"?');
    assert.equal(issues['limits.cpu'], 'unknown key (here: timeout, memory, concurrency, maxInstances, minWarm, maxQueue, rate, burst)');
    assert.equal(issues['triggers.0.timezon'], 'unknown key; did you mean "timezone"?');
    assert.match(issues['retry.attempts']!, /^unknown key; did you mean "maxAttempts"\?$|^unknown key \(here: maxAttempts, /);
  });

  it('takes module:attr and module:factory() (an app factory), nothing else', () => {
    for (const entrypoint of ['main:handler', 'app:app', 'pkg.app:api.app', 'app:create_app()', 'pkg.web:factory.make()']) {
      assert.equal(parseManifest({ kind: 'function', name: 'f', entrypoint }).entrypoint, entrypoint);
    }
    for (const entrypoint of ['main', 'app:create_app(1)', 'app:create_app( )', 'app:()', 'app:create_app()()', 'app:create_app(']) {
      assert.ok(issuesOf({ kind: 'function', name: 'f', entrypoint })['entrypoint'], entrypoint);
    }
  });

  it('reports bad values with their path', () => {
    const issues = issuesOf({
      kind: 'app',
      name: 'Hello_World',
      entrypoint: 'main',
      runtime: 'lambda',
      invocation: 'maybe',
      limits: { timeout: '30', memory: 'lots', concurrency: 0, maxInstances: 1.5, minWarm: -1, maxQueue: 'x' },
      env: { GOOD: 'x', 'bad-name': 'y', NUM: 3 },
    });
    for (const path of [
      'kind',
      'name',
      'entrypoint',
      'runtime',
      'invocation',
      'limits.timeout',
      'limits.memory',
      'limits.concurrency',
      'limits.maxInstances',
      'limits.minWarm',
      'limits.maxQueue',
      'env.NUM',
    ]) {
      assert.ok(path in issues, `expected an issue at ${path}; got ${Object.keys(issues).join(', ')}`);
    }
    assert.ok(Object.keys(issues).some((p) => p.startsWith('env')), 'the bad env name is reported');
  });

  it('refuses env names the platform reserves (FP_*) with their path and why; fp_ in lower case is the function\'s', () => {
    const issues = issuesOf({ kind: 'function', name: 'a', env: { FP_MONGO_URI: 'mongodb://elsewhere', FP_ANYTHING: 'x', OK: '1' } });
    assert.deepEqual(Object.keys(issues).sort(), ['env.FP_ANYTHING', 'env.FP_MONGO_URI']);
    assert.match(issues['env.FP_MONGO_URI']!, /reserved for the platform/);
    assert.deepEqual(parseManifest({ kind: 'function', name: 'a', env: { fp_mine: '1' } }).env, { fp_mine: '1' });
  });

  it('refuses a memory limit below 16Mi (0 would mean no limit in the pool)', () => {
    for (const memory of ['0', '0Mi', '1Ki', '15Mi', '16M']) assert.ok('limits.memory' in issuesOf({ kind: 'function', name: 'x', limits: { memory } }), memory);
    assert.equal(parseManifest({ kind: 'function', name: 'x', limits: { memory: '16Mi' } }).limits.memoryBytes, 16 * 1024 * 1024);
  });

  it('reads the retry policy and checks its bounds', () => {
    const m = parseManifest({ kind: 'function', name: 'x', retry: { maxAttempts: 1, backoff: '500ms', maxBackoff: '5s', maxEventAge: '1h' } });
    assert.deepEqual(m.retry, { maxAttempts: 1, backoffBaseMs: 500, backoffMaxMs: 5000, maxEventAgeMs: 3_600_000 });
    const issues = issuesOf({ kind: 'function', name: 'x', retry: { maxAttempts: 11, jitter: true } });
    assert.ok('retry.maxAttempts' in issues && 'retry.jitter' in issues, JSON.stringify(issues));
    assert.ok('retry.backoff' in issuesOf({ kind: 'function', name: 'x', retry: { backoff: '2m', maxBackoff: '1m' } }));
  });

  it('refuses minWarm above maxInstances', () => {
    assert.ok('limits.minWarm' in issuesOf({ kind: 'function', name: 'x', limits: { maxInstances: 1, minWarm: 2 } }));
  });

  it('requires kind and name', () => {
    assert.deepEqual(Object.keys(issuesOf({})).sort(), ['kind', 'name']);
    assert.ok('' in issuesOf('just a string'));
  });

  describe('name is a DNS label', () => {
    for (const good of ['a', 'hello', 'my-fn-2', '0day', 'a'.repeat(63)]) {
      it(`accepts ${good.length > 10 ? `${good.length} chars` : good}`, () => assert.equal(parseManifest({ kind: 'function', name: good }).name, good));
    }
    for (const bad of ['', '-a', 'a-', 'Hello', 'a_b', 'a.b', 'a'.repeat(64), 'é']) {
      it(`refuses ${JSON.stringify(bad.length > 10 ? `${bad.length} chars` : bad)}`, () => assert.ok('name' in issuesOf({ kind: 'function', name: bad })));
    }
  });

  describe('env references', () => {
    it('resolves ${VAR} and ${VAR:-default} against the platform env; $$ is a literal $', () => {
      const m = parseManifest(
        { kind: 'function', name: 'x', env: { URL: 'mongodb://${DB_HOST}:27017', LEVEL: '${LOG_LEVEL:-info}', PRICE: '$$5', PLAIN: 'p' } },
        { platformEnv: { DB_HOST: 'db.local' } },
      );
      assert.deepEqual(m.env, { URL: 'mongodb://db.local:27017', LEVEL: 'info', PRICE: '$5', PLAIN: 'p' });
    });

    it('reports an unset reference at env.<KEY>, together with schema issues', () => {
      const issues = issuesOf({ kind: 'function', name: 'x', bogus: 1, env: { A: '${MISSING}', B: 'ok' } });
      assert.deepEqual(Object.keys(issues).sort(), ['bogus', 'env.A']);
    });

    it('refuses a malformed reference', () => {
      assert.ok(typeof resolveEnvValue('${not closed', {}) === 'object');
      assert.ok(typeof resolveEnvValue('${1BAD}', {}) === 'object');
      assert.equal(resolveEnvValue('${A}${A}', { A: 'z' }), 'zz');
    });
  });
});

describe('parseManifest in its own words (newcomer round 7, docs/adr/0075-newcomer-round-7.md)', () => {
  it('a missing kind or name says what to write, not "expected string, received undefined"', () => {
    assert.match(issuesOf({ name: 'a' })['kind']!, /^missing: .*`kind: function`/);
    assert.match(issuesOf({ kind: 'function' })['name']!, /^missing: .*`name: my-fn`/);
  });

  it('kind: app and runtime: python3.11 (Lambda, serverless.yml) say what they mean here', () => {
    assert.match(issuesOf({ kind: 'app', name: 'a' })['kind']!, /"app" is not a kind .*`kind: function` .*entrypoint: main:app/);
    assert.match(issuesOf({ kind: 'function', name: 'a', runtime: 'python3.11' })['runtime']!, /not a Python version/);
    assert.equal(issuesOf({ kind: 'function', name: 'a', runtime: 'lambda' })['runtime'], '"lambda" is not one of http, webhook, cron, worker');
  });

  it("another platform's top-level keys name the key that holds them here", () => {
    const issues = issuesOf({ kind: 'function', name: 'a', handler: 'main.handler', timeout: 30, memorySize: 512, environment: {} });
    assert.match(issues['handler']!, /^unknown key; .*`entrypoint: main:handler`/);
    assert.match(issues['timeout']!, /under `limits:`/);
    assert.match(issues['memorySize']!, /under `limits:` as `memory`/);
    assert.match(issues['environment']!, /under `env:`/);
  });

  it("a uvicorn project's settings (python, port, workers, env_file) say where they are here (new-user round 11)", () => {
    const issues = issuesOf({ kind: 'function', name: 'a', python: '3.12', port: 8000, workers: 4, env_file: '.env', requirements: 'requirements.txt' });
    assert.match(issues['python']!, /^unknown key; there is no Python version to choose: every function runs on the platform's Python/);
    assert.match(issues['port']!, /the app binds no port/);
    assert.match(issues['workers']!, /maxInstances/);
    assert.match(issues['env_file']!, /\.env is not read at deploy/);
    assert.match(issues['requirements']!, /installed at deploy/);
  });

  it("Lambda's settings say where they are here (new-user round 12)", () => {
    // SAM's capitalised keys, Lambda's async settings at the top and under retry:.
    const top = issuesOf({ kind: 'function', name: 'a', MemorySize: 512, MaximumRetryAttempts: 2, DeadLetterQueue: { Type: 'SQS' }, constructor: 1, retry: { maximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 } });
    assert.match(top['MemorySize']!, /^unknown key; it goes under `limits:` as `memory`/);
    assert.match(top['MaximumRetryAttempts']!, /under `retry:` as `maxAttempts`.*MaximumRetryAttempts 2 is maxAttempts: 3/);
    assert.match(top['DeadLetterQueue']!, /runs <name> --status failed.*runs replay <runId>/);
    assert.match(top['constructor']!, /^unknown key \(here: /);
    assert.match(top['retry.maximumRetryAttempts']!, /^unknown key; here it is `maxAttempts`/);
    assert.match(top['retry.MaximumEventAgeInSeconds']!, /^unknown key; here it is `maxEventAge`/);
    // A trigger type that is none of cron and webhook: where a schedule goes, not zod's "Invalid discriminator value".
    const types = (type: unknown): string => issuesOf({ kind: 'function', name: 'a', triggers: [type === undefined ? { schedule: 'rate(5 minutes)' } : { type }] })['triggers.0.type']!;
    assert.equal(types('schedule'), '"schedule" is not a trigger type here (cron, webhook): a schedule is `type: cron` with `schedule: "*/5 * * * *"`');
    assert.match(types('Schedule'), /a schedule is `type: cron`/);
    assert.match(types(undefined), /^missing: each trigger says its type, cron or webhook/);
    assert.match(types('http'), /called over HTTP at \/fn\/<name>\/ without one/);
    assert.match(types('sqs'), /queue and stream triggers .* are not offered/);
    // Lambda's MemorySize and Timeout quoted without a unit: the unit meant.
    const quoted = issuesOf({ kind: 'function', name: 'a', limits: { memory: '512', timeout: '15' } });
    assert.match(quoted['limits.memory']!, /below the smallest memory limit, 16Mi .*; a number without a unit is bytes: write 512Mi for 512 MiB$/);
    assert.match(quoted['limits.timeout']!, /"15" is not a duration; .* \(15s for 15 seconds\)$/);
    assert.doesNotMatch(issuesOf({ kind: 'function', name: 'a', limits: { memory: '1Ki' } })['limits.memory']!, /without a unit/);
  });

  it('numbers out of range, fractions and enum values without zod\'s wording', () => {
    const issues = issuesOf({ kind: 'function', name: 'a', limits: { concurrency: 0, maxInstances: 2000, minWarm: 1.5 }, retry: { maxAttempts: 20 }, invocation: 'sometimes' });
    assert.equal(issues['limits.concurrency'], 'must be at least 1, not 0');
    assert.equal(issues['limits.maxInstances'], 'must be at most 1000, not 2000');
    assert.equal(issues['limits.minWarm'], 'must be a whole number, not 1.5');
    assert.equal(issues['retry.maxAttempts'], 'must be at most 10, not 20');
    assert.equal(issues['invocation'], '"sometimes" is not one of sync, async, both');
    // A value of the wrong type: what the key takes and what it got (newcomer round 8).
    const typed = issuesOf({ kind: 'function', name: 'a', limits: { timeout: 10, concurrency: '4' }, triggers: 'cron' });
    assert.equal(typed['limits.timeout'], 'must be text, not the number 10');
    assert.equal(typed['limits.concurrency'], 'must be a number, not the string "4"');
    assert.equal(typed['triggers'], 'must be a list, not the string "cron"');
    // docker-compose's env list (new-user round 10: "must be a mapping, not a list"): the mapping's spelling of its first item.
    assert.equal(issuesOf({ kind: 'function', name: 'a', env: ['DEBUG=1', 'X=y'] })['env'], 'must be a mapping of NAME: value lines, not a list: write `DEBUG: "1"` under env:, not `- DEBUG=1`');
    assert.equal(issuesOf({ kind: 'function', name: 'a', env: [1] })['env'], 'must be a mapping, not a list');
    // A message written here is kept.
    assert.match(issuesOf({ kind: 'function', name: 'a', triggers: [{ type: 'webhook', id: 'Bad_Id' }] })['triggers.0.id']!, /^webhook ids are DNS labels/);
  });

  it("reads a webhook trigger's path (default /) and refuses one that is no plain absolute path", () => {
    const hooks = (path?: string): unknown[] => parseManifest({ kind: 'function', name: 'a', triggers: [{ type: 'webhook', id: 'gh', ...(path !== undefined ? { path } : {}) }] }).triggers;
    assert.deepEqual(hooks().map((t) => (t as { path: string }).path), ['/']);
    for (const ok of ['/', '/webhooks/github', '/webhooks/github/', '/a/%7Eb/c:d@e', "/x-y_z.~!$&'()*+,;="]) assert.deepEqual(hooks(ok).map((t) => (t as { path: string }).path), [ok], ok);
    for (const [bad, why] of [['webhooks', /absolute path/], ['/a?b=1', /no query/], ['/a#b', /absolute path/], ['//a', /absolute path/], ['/a//b', /absolute path/], ['/a/../b', /no \. or \.\. segments/], ['/./a', /no \. or \.\. segments/], ['/a b', /absolute path/], ['/%zz', /absolute path/], ['/é', /absolute path/], [`/${'a'.repeat(512)}`, /at most 512/]] as const) {
      assert.match(issuesOf({ kind: 'function', name: 'a', triggers: [{ type: 'webhook', id: 'gh', path: bad }] })['triggers.0.path'] ?? '(accepted)', why, bad);
    }
  });

  it("the schemas' trigger path pattern takes every path the rule takes, and the rule refuses what only the pattern lets through", () => {
    // The published pattern is the characters alone (the whole rule as a pattern cost Schemathesis 24-60 s a run, ADR 0175).
    const schema = JSON.parse(generatePlatformSchema()) as unknown;
    const patterns = new Set<string>();
    (function walk(node: unknown, key: string): void {
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (key === 'path' && typeof o['pattern'] === 'string') patterns.add(o['pattern']);
      for (const [k, v] of Object.entries(o)) walk(v, k);
    })(schema, '');
    assert.equal(patterns.size, 1, [...patterns].join(' | '));
    const pattern = new RegExp([...patterns][0]!, 'u');
    for (const ok of ['/', '/webhooks/github', '/webhooks/github/', '/a/%7Eb/c:d@e', "/x-y_z.~!$&'()*+,;="]) assert.ok(pattern.test(ok), ok);
    for (const loose of ['//a', '/a//b', '/%zz', '/%4', '/a/%']) {
      assert.ok(pattern.test(loose), loose);
      assert.match(issuesOf({ kind: 'function', name: 'a', triggers: [{ type: 'webhook', id: 'gh', path: loose }] })['triggers.0.path'] ?? '(accepted)', /^a trigger path is an absolute path/, loose);
    }
    for (const bad of ['webhooks', '/a?b', '/a#b', '/a b', '/é']) assert.ok(!pattern.test(bad), bad);
  });
});
