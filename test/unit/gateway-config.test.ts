import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, unknownSettings } from '../../gateway/index.js';

describe('loadConfig', () => {
  it('fills every default from an empty environment', () => {
    assert.deepEqual(
      { ...loadConfig({}) },
      {
        port: 8080,
        host: '127.0.0.1',
        maxBodyBytes: 6 * 1024 * 1024,
        poolSize: 3,
        idleTimeoutMs: 300_000,
        shutdownGraceMs: 10_000,
        functionsDir: undefined,
        pythonPath: undefined,
        debug: false,
      },
    );
  });

  it('reads FP_* variables into unit-bearing names', () => {
    const config = loadConfig({
      FP_PORT: '0',
      FP_HOST: '0.0.0.0',
      FP_MAX_BODY_BYTES: '1024',
      FP_POOL_SIZE: '5',
      FP_IDLE_TIMEOUT_MS: '60000',
      FP_FUNCTIONS_DIR: '/srv/functions',
      FP_PYTHON: '/usr/bin/python3',
      FP_DEBUG: '1',
      HOME: '/root',
    });
    assert.equal(config.port, 0);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.maxBodyBytes, 1024);
    assert.equal(config.poolSize, 5);
    assert.equal(config.idleTimeoutMs, 60_000);
    assert.equal(config.functionsDir, '/srv/functions');
    assert.equal(config.pythonPath, '/usr/bin/python3');
    assert.equal(config.debug, true);
  });

  it('is frozen', () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
  });

  it('treats an empty variable as unset', () => {
    assert.equal(loadConfig({ FP_PORT: '' }).port, 8080);
  });

  it('lists every bad key in one error', () => {
    const env = { FP_PORT: '70000', FP_POOL_SIZE: 'three', FP_MAX_BODY_BYTES: '1e6', FP_IDLE_TIMEOUT_MS: '-5', FP_DEBUG: 'yes' };
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, 'BAD_CONFIG');
        assert.deepEqual(err.issues.map((i) => i.key).sort(), Object.keys(env).sort());
        return true;
      },
    );
  });

  it('names FP_* variables it does not know (likely typos)', () => {
    assert.deepEqual(unknownSettings({ FP_PORTT: '1', FP_PORT: '1', PATH: '/bin' }), ['FP_PORTT']);
  });
});
