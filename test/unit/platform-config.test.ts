/** The platform's configuration: defaults, the environment edge, the options edge, errors listed at once. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseOptions, unknownSettings } from '../../platform/config.js';

const MIB = 1024 * 1024;

describe('platform config', () => {
  it('has documented defaults and is frozen', () => {
    const config = loadConfig({ HOME: '/home/u' });
    assert.deepEqual(
      { ...config },
      {
        stateDir: '.state', port: 8080, host: '127.0.0.1', maxBodyBytes: 6 * MIB, asyncMaxBodyBytes: 256 * 1024, asyncResultMaxBytes: 256 * 1024, asyncResultBytesPerWorkspace: 64 * MIB, maxHeldResponseBytes: 1024 * MIB, sendBufferBytes: 512 * 1024, maxBodyBytesInFlight: 512 * MIB, wsMaxMessageBytes: MIB,
        baseDomain: 'localhost', trustedProxies: 'none', metricsPlatformSeries: 'anyone',
        poolSize: 3, poolWarmNext: false, idleTimeoutMs: 300_000, shutdownGraceMs: 10_000, debug: false, logFormat: 'text', data: 'auto', dataBackendTimeoutMs: 5_000, dataMaxDatabaseBytes: 10 * 1024 * 1024 * 1024,
        runRetentionMs: 7 * 24 * 3_600_000, runPruneIntervalMs: 600_000, codeCollectIntervalMs: 600_000, keepVersions: 20, runKeepPerMinute: 60, runSampleOneIn: 100, runStoreMaxBytes: 1024 * 1024 * 1024, runJournalMaxBytes: 64 * 1024 * 1024, runStoreCheckMs: 10_000,
        maxBundleBytes: 50 * MIB, maxBundleFiles: 1000, maxFileBytes: 10 * MIB, bundleCheckTimeoutMs: 30_000,
        store: 'embedded', redisPrefix: 'fp', mongoDatabase: 'fastapi_platform', mongoDatabaseAdopt: false, warmReportIntervalMs: 10_000,
        dispatchConcurrency: 4, dispatchLeaseMs: 30_000, secretsKeyFile: '/home/u/.config/fastapi-platform/secrets.key',
        sandbox: 'auto', unsafeNoSandbox: false, sandboxUids: '600000-699999', sandboxTmpBytes: 64 * MIB,
        sandboxTasks: 256, zygotes: true, templates: true, sandboxOpenFiles: 1024, maxInstances: 64, maxHeldCalls: 4096, crashStartBurst: 10, crashStartsPerMinute: 30, maxFrameBytesInFlight: 1024 * 1024 * 1024, maxFunctionInstances: 50,
        maxFunctionMemoryBytes: 4096 * MIB, maxFunctionTimeoutMs: 3_600_000,
        redisAllowVolatile: false,
        runtimeHost: 'process', kubeNamespace: 'default', kubePool: 'fp', kubeImagePullPolicy: 'IfNotPresent',
        kubePresets: 'm256:256:2:100m,m1024:1024:0:250m', kubeRuntimePort: 8000, kubePodStartTimeoutMs: 120_000,
        depsIndexUrl: 'https://pypi.org/simple', depsKeepMs: 3_600_000, functionHostEnv: '', depsExtraIndexUrls: '', depsAllowSdist: false, depsAllowHosts: '',
        depsIndexCa: '/etc/ssl/certs/ca-certificates.crt', depsTimeoutMs: 300_000, depsMaxBytes: 512 * MIB,
        depsMemoryBytes: 2048 * MIB, depsBuilderUid: 599_999, depsConcurrency: 1, auditRetentionMs: 90 * 24 * 3_600_000, auditMaxEntries: 100_000, apiWriteRate: 600,
      },
    );
    assert.ok(Object.isFrozen(config));
  });

  it('reads the data proxy\'s wait for its server (FP_DATA_BACKEND_TIMEOUT_MS), in bounds', () => {
    assert.equal(loadConfig({ FP_DATA_BACKEND_TIMEOUT_MS: '2500' }).dataBackendTimeoutMs, 2500);
    assert.throws(() => loadConfig({ FP_DATA_BACKEND_TIMEOUT_MS: '0' }), (err: ConfigError) => err.issues.some((i) => i.key === 'FP_DATA_BACKEND_TIMEOUT_MS'));
  });

  it('reads the tenants settings: new workspaces\' quotas, the audit retention as a duration', () => {
    const config = loadConfig({ FP_WORKSPACE_QUOTA_FUNCTIONS: '10', FP_WORKSPACE_QUOTA_INSTANCES: '4', FP_WORKSPACE_QUOTA_INVOCATIONS_PER_MINUTE: '6000',
      FP_WORKSPACE_QUOTA_CODE_BYTES: '1048576', FP_WORKSPACE_QUOTA_LOG_BYTES: '2048', FP_AUDIT_RETENTION: '30d' });
    assert.equal(config.workspaceQuotaFunctions, 10);
    assert.equal(config.workspaceQuotaInstances, 4);
    assert.equal(config.workspaceQuotaInvocationsPerMinute, 6000);
    assert.equal(config.workspaceQuotaCodeBytes, 1048576);
    assert.equal(config.workspaceQuotaLogBytes, 2048);
    assert.equal(config.auditRetentionMs, 30 * 24 * 3_600_000);
    assert.equal(loadConfig({ FP_AUDIT_RETENTION: '720h' }).auditRetentionMs, 720 * 3_600_000);
    for (const bad of ['90', '90 days', '-1d', '0s']) {
      assert.throws(() => loadConfig({ FP_AUDIT_RETENTION: bad }), (err: unknown) => (err as ConfigError).issues[0]?.key === 'FP_AUDIT_RETENTION', bad);
    }
    // ADR 0103: 0 turns the bound off; a bound below 100 would keep less than its trim marker's share.
    assert.equal(loadConfig({ FP_AUDIT_MAX_ENTRIES: '0', FP_API_WRITE_RATE: '0' }).auditMaxEntries, 0);
    assert.throws(() => loadConfig({ FP_AUDIT_MAX_ENTRIES: '50' }), (err: unknown) => (err as ConfigError).issues[0]?.key === 'FP_AUDIT_MAX_ENTRIES');
  });

  it('turns the zygotes off with FP_ZYGOTES=0', () => {
    assert.equal(loadConfig({ FP_ZYGOTES: '0' }).zygotes, false);
    assert.equal(loadConfig({ FP_ZYGOTES: '1' }).zygotes, true);
  });

  it('turns the templates off with FP_TEMPLATES=0', () => {
    assert.equal(loadConfig({ FP_TEMPLATES: '0' }).templates, false);
    assert.equal(loadConfig({}).templates, true);
  });

  it('reads the functions directory of directory mode, not with the production store', () => {
    assert.equal(loadConfig({ FP_FUNCTIONS_DIR: '/srv/functions' }).functionsDir, '/srv/functions');
    assert.equal(parseOptions({ functionsDir: 'fns' }).functionsDir, 'fns');
    assert.throws(
      () => loadConfig({ FP_FUNCTIONS_DIR: '/srv/functions', FP_STORE: 'production', FP_REDIS_URL: 'redis://127.0.0.1:6379', FP_MONGO_URL: 'mongodb://127.0.0.1:27017/' }),
      (err: unknown) => err instanceof ConfigError && err.code === 'BAD_CONFIG' && err.issues.map((i) => i.key).join() === 'FP_FUNCTIONS_DIR',
    );
  });

  it('refuses numbers that are not plain whole decimals, rather than coercing them', () => {
    for (const bad of ['1e6', '0x10', ' 12', '-5', '3.0']) {
      assert.throws(() => loadConfig({ FP_MAX_BODY_BYTES: bad }), (err: unknown) => (err as ConfigError).issues[0]?.key === 'FP_MAX_BODY_BYTES', bad);
    }
  });

  it('says what a bad number was and its unit: milliseconds or bytes with an example (new-user round 5: FP_RUN_RETENTION_MS=7d read "must be a whole number")', () => {
    const messageOf = (env: Record<string, string>): string | undefined => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as ConfigError).issues[0]?.message;
      }
      return undefined;
    };
    assert.equal(messageOf({ FP_RUN_RETENTION_MS: '7d' }), 'must be a whole number of milliseconds (7 days: 604800000), got "7d"');
    assert.equal(messageOf({ FP_RUN_STORE_MAX_BYTES: '1GiB' }), 'must be a whole number of bytes (1 GiB: 1073741824), got "1GiB"');
    assert.equal(messageOf({ FP_POOL_SIZE: 'three' }), 'must be a whole number, got "three"');
  });

  it('takes a sandbox uid range only when it is well formed and excludes the platform\'s own uid', () => {
    assert.equal(loadConfig({ FP_SANDBOX_UIDS: '700000-700999' }).sandboxUids, '700000-700999');
    assert.equal(loadConfig({ FP_UNSAFE_NO_SANDBOX: '1' }).unsafeNoSandbox, true);
    assert.equal(loadConfig({ FP_REDIS_ALLOW_VOLATILE: '1' }).redisAllowVolatile, true);
    const own = process.getuid?.() ?? 0;
    for (const bad of ['0-10', '10-5', 'x-y', `${Math.max(1, own)}-${own + 10}`]) {
      if (bad === `${Math.max(1, own)}-${own + 10}` && own === 0) continue; // root: covered by 0-10
      assert.throws(() => loadConfig({ FP_SANDBOX_UIDS: bad }), (err: unknown) => err instanceof ConfigError && err.issues[0]?.key === 'FP_SANDBOX_UIDS', bad);
    }
    assert.throws(() => loadConfig({ FP_SANDBOX: 'none' }), (err: unknown) => err instanceof ConfigError && err.issues[0]?.key === 'FP_SANDBOX');
  });

  it('reads FP_* variables, an empty one counting as unset', () => {
    const config = loadConfig({ FP_STATE_DIR: '/srv/state', FP_PORT: '0', FP_DEBUG: 'true', FP_RUN_RETENTION_MS: '60000', FP_PUBLIC_URL: 'https://fn.example.com', FP_HOST: '' });
    assert.equal(config.stateDir, '/srv/state');
    assert.equal(config.port, 0);
    assert.equal(config.debug, true);
    assert.equal(config.runRetentionMs, 60_000);
    assert.equal(config.publicUrl, 'https://fn.example.com');
    assert.equal(config.host, '127.0.0.1');
    assert.equal(loadConfig({ FP_BUNDLE_CHECK_TIMEOUT_MS: '5000' }).bundleCheckTimeoutMs, 5000);
  });

  it('production mode needs both FP_REDIS_URL and FP_MONGO_URL', () => {
    assert.throws(
      () => loadConfig({ FP_STORE: 'production' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, 'BAD_CONFIG');
        assert.deepEqual(err.issues.map((i) => i.key).sort(), ['FP_MONGO_URL', 'FP_REDIS_URL']);
        return true;
      },
    );
    assert.throws(() => loadConfig({ FP_STORE: 'cloud' }), (err: unknown) => err instanceof ConfigError && err.issues[0]?.key === 'FP_STORE');
    const config = loadConfig({ FP_STORE: 'production', FP_REDIS_URL: 'redis://127.0.0.1:6379', FP_MONGO_URL: 'mongodb://127.0.0.1:27017/', FP_MONGO_DB: 'fp_test' });
    assert.deepEqual([config.store, config.redisUrl, config.mongoUrl, config.mongoDatabase], ['production', 'redis://127.0.0.1:6379', 'mongodb://127.0.0.1:27017/', 'fp_test']);
    assert.throws(() => parseOptions({ store: 'production', redisUrl: 'http://x', mongoUrl: 'mongodb://h/' }), (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.key === 'redisUrl'));
    // Redis on a Unix socket (where no function can open a connection: docs/security.md, "Network").
    assert.equal(loadConfig({ FP_STORE: 'production', FP_REDIS_URL: 'unix:///run/redis/redis.sock?password=pw', FP_MONGO_URL: 'mongodb://h/' }).redisUrl, 'unix:///run/redis/redis.sock?password=pw');
    assert.throws(() => loadConfig({ FP_STORE: 'production', FP_REDIS_URL: 'unix://relative.sock', FP_MONGO_URL: 'mongodb://h/' }), (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.key === 'FP_REDIS_URL'));
  });

  it('a Unix socket written as a path after redis:// or mongodb:// is BAD_CONFIG with the form each takes (new-user round 13)', () => {
    const issues = (env: Record<string, string>): { key: string; message: string }[] => {
      try {
        loadConfig({ FP_STORE: 'production', FP_REDIS_URL: 'unix:///run/fp/redis.sock?password=pw', FP_MONGO_URL: 'mongodb://%2Frun%2Ffp%2Fferretdb.sock/', ...env });
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.issues;
      }
      return [];
    };
    // The start said `[START_FAILED] Invalid URL`, naming no variable.
    const redis = issues({ FP_REDIS_URL: 'redis://:s3cret@/run/fp/redis.sock' });
    assert.deepEqual(redis.map((i) => i.key), ['FP_REDIS_URL']);
    assert.match(redis[0]!.message, /unix:\/\/\/run\/fp\/redis\.sock\?password=…/);
    assert.doesNotMatch(redis[0]!.message, /s3cret/);
    assert.match(issues({ FP_REDIS_URL: 'redis:///run/fp/redis.sock' })[0]!.message, /unix:\/\/\/run\/fp\/redis\.sock /);
    // The start said `[START_FAILED] Protocol and host list are required in the uri`.
    for (const url of ['mongodb:///run/fp/ferretdb.sock/', 'mongodb:///run/fp/ferretdb.sock', 'mongodb:///run/fp/ferretdb.sock/fastapi_platform']) {
      const mongo = issues({ FP_MONGO_URL: url });
      assert.deepEqual(mongo.map((i) => i.key), ['FP_MONGO_URL'], url);
      assert.match(mongo[0]!.message, /mongodb:\/\/%2Frun%2Ffp%2Fferretdb\.sock\//);
    }
    // The forms README gives, a host with a database number, and a seed list still pass.
    for (const env of <Record<string, string>[]>[{}, { FP_REDIS_URL: 'redis://:pw@127.0.0.1:6379/0' }, { FP_REDIS_URL: 'redis://h/2' }, { FP_MONGO_URL: 'mongodb://u:p@a:1,b:2/?authSource=admin' }]) {
      assert.deepEqual(issues(env), [], JSON.stringify(env));
    }
  });

  it('lists every bad variable in one error', () => {
    assert.throws(
      () => loadConfig({ FP_PORT: 'http', FP_POOL_SIZE: '0', FP_DEBUG: 'yes', FP_PUBLIC_URL: 'ftp://x', FP_MAX_FILE_BYTES: '99999999999' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, 'BAD_CONFIG');
        assert.deepEqual([...new Set(err.issues.map((i) => i.key))].sort(), ['FP_DEBUG', 'FP_MAX_FILE_BYTES', 'FP_POOL_SIZE', 'FP_PORT', 'FP_PUBLIC_URL']);
        return true;
      },
    );
  });

  it('refuses a per-file limit above the bundle limit', () => {
    assert.throws(() => loadConfig({ FP_MAX_BUNDLE_BYTES: '1000', FP_MAX_FILE_BYTES: '2000' }), (err: unknown) => (err as ConfigError).issues[0]?.key === 'FP_MAX_FILE_BYTES');
  });

  it('takes unit-named options from code, refusing unknown ones by name', () => {
    assert.equal(parseOptions({ port: 0, stateDir: '/tmp/x' }).port, 0);
    assert.throws(() => parseOptions({ port: 0, prot: 1 }), (err: unknown) => (err as ConfigError).issues.some((i) => i.key === 'prot' && i.message === 'unknown option'));
    assert.throws(() => parseOptions({ port: -1 }), (err: unknown) => (err as ConfigError).issues[0]?.key === 'port');
  });

  it('takes the secrets key from FP_SECRETS_KEY or a key file (default in the user\'s config folder), never both', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    assert.equal(loadConfig({ XDG_CONFIG_HOME: '/x', HOME: '/h' }).secretsKeyFile, '/x/fastapi-platform/secrets.key');
    assert.equal(loadConfig({ FP_SECRETS_KEY_FILE: '/etc/fp/key', HOME: '/h' }).secretsKeyFile, '/etc/fp/key');
    const inline = loadConfig({ FP_SECRETS_KEY: `${key}, ${Buffer.alloc(32, 8).toString('base64')}`, HOME: '/h' });
    assert.deepEqual([inline.secretsKeyFile, typeof inline.secretsKey], [undefined, 'string']);
    assert.throws(() => loadConfig({ FP_SECRETS_KEY: key, FP_SECRETS_KEY_FILE: '/k' }), (err: unknown) => (err as ConfigError).issues[0]?.key === 'FP_SECRETS_KEY');
    assert.throws(
      () => loadConfig({ FP_SECRETS_KEY: 'not-a-key-hunter2' }),
      (err: unknown) => (err as ConfigError).issues[0]?.key === 'FP_SECRETS_KEY' && !(err as Error).message.includes('hunter2'),
    );
  });

  it('names unknown FP_* variables (likely typos)', () => {
    assert.deepEqual(unknownSettings({ FP_PORT: '1', FP_PROT: '2', HOME: '/' }), ['FP_PROT']);
  });

  it("FP_CONFIG_DIR (the CLI's folder, docs/cli.md) is known and holds the default secrets key, as for `up`", () => {
    assert.deepEqual(unknownSettings({ FP_CONFIG_DIR: '/cfg', HOME: '/' }), []);
    // `dev`'s cache folder (docs/cli.md): a shell that exports it for the CLI starts the platform too.
    assert.deepEqual(unknownSettings({ FP_CACHE_DIR: '/cache', HOME: '/' }), []);
    assert.equal(loadConfig({ FP_CONFIG_DIR: '/cfg', HOME: '/home/u' }).secretsKeyFile, '/cfg/secrets.key');
    assert.equal(loadConfig({ HOME: '/home/u' }).secretsKeyFile, '/home/u/.config/fastapi-platform/secrets.key');
  });
});
