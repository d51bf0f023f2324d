/**
 * A call to one production process for a function another process has just created or deployed,
 * before the config bus told the first (reliability rounds 3-5: ~300 ms, 404 FUNCTION_NOT_DEPLOYED
 * or FUNCTION_NOT_FOUND, which a client may take as final). The window is held open by pausing
 * Redis's writes (`CLIENT PAUSE … WRITE` holds PUBLISH, so the bus says nothing); the store is
 * MongoDB, which goes on. Each call is now served after one store read (ADR 0117).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openRedis } from '../../controlplane/store/production/redis-client.js';
import { createFunction, deploy, deployed, fnName, handlerReturning, sleep, upload } from './platform-harness.js';
import { productionSkip, usePair, useServers } from './production-harness.js';

async function codeOf(res: Response): Promise<string> {
  return ((await res.json()) as { error?: { code?: string } }).error?.code ?? `status ${res.status}`;
}

/** How long Redis's writes are held: well past every step of a test below (it ends with UNPAUSE). */
const PAUSE_MS = 60_000;

describe('a call for a function another process changed a moment ago', { skip: productionSkip, timeout: 120_000 }, () => {
  const servers = useServers();
  const nodes = usePair(servers);

  /** Runs `step` while no process hears another's changes (Redis refuses writes, PUBLISH among them, until UNPAUSE). */
  async function busSilent(step: () => Promise<void>): Promise<void> {
    const redis = await openRedis(servers.redis.url);
    try {
      await redis.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
      try {
        await step();
      } finally {
        await redis.call('CLIENT', 'UNPAUSE');
      }
    } finally {
      redis.disconnect();
    }
  }

  it('is served by the process that had not heard of its first deploy (was 404 FUNCTION_NOT_DEPLOYED)', async () => {
    const name = fnName('first');
    await createFunction(nodes.a.api, name);
    // B has heard of the function (its create), not of a version.
    let heard = '';
    for (let tries = 0; tries < 150 && heard !== 'FUNCTION_NOT_DEPLOYED'; tries++) {
      if (tries > 0) await sleep(100);
      heard = await codeOf(await fetch(`${nodes.b.url}/fn/${name}/`));
    }
    assert.equal(heard, 'FUNCTION_NOT_DEPLOYED');
    await busSilent(async () => {
      await upload(nodes.a.api, name, handlerReturning('deployed'));
      await deploy(nodes.a.api, name);
      const res = await fetch(`${nodes.b.url}/fn/${name}/`);
      const body = await res.json() as { value?: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.value, 'deployed');
    });
  });

  it('is served by the process that had not heard of the function at all (was 404 FUNCTION_NOT_FOUND)', async () => {
    const name = fnName('unheard');
    await busSilent(async () => {
      await deployed(nodes.a.api, name, handlerReturning('new'));
      const res = await fetch(`${nodes.b.url}/fn/${name}/`);
      const body = await res.json() as { value?: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.value, 'new');
    });
  });

  it('still answers 404 FUNCTION_NOT_FOUND for a name the store does not hold', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${nodes.b.url}/fn/${fnName('nothing')}/`);
      assert.equal(res.status, 404);
      assert.equal(await codeOf(res), 'FUNCTION_NOT_FOUND');
    }
  });
});
