/**
 * The platform with FP_RUNTIME_HOST=kubernetes, as the chart runs it but on the test API server
 * and kubelet: it starts from its configuration table (a kubeconfig file, the pool, the token key),
 * a function deployed through the API is served over HTTP from a runtime Pod, and /readyz says the
 * Pod is the box.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { kubeTierUnavailable } from '../helpers/kube-cluster.js';
import { Api, deployed, handlerReturning, TEST_SECRETS_KEY } from '../e2e/platform-harness.js';
import { startWorld, type KubeWorld } from './kube-harness.js';

const skip = kubeTierUnavailable() ?? false;

describe('the platform on Kubernetes (FP_RUNTIME_HOST=kubernetes)', { skip }, () => {
  let world: KubeWorld;
  let platform: StartedPlatform;
  let api: Api;
  let stateDir: string;
  before(async () => {
    world = await startWorld();
    stateDir = mkdtempSync(join(tmpdir(), 'fp-kube-platform-'));
    const kubeconfig = join(stateDir, 'kubeconfig');
    writeFileSync(kubeconfig, world.cluster.config('fp-platform').exportConfig(), { mode: 0o600 });
    platform = await startPlatform({
      stateDir, port: 0, shutdownGraceMs: 2000, secretsKey: TEST_SECRETS_KEY, log: () => {},
      runtimeHost: 'kubernetes', kubeconfig, kubeNamespace: world.cluster.namespace, kubePool: world.pool,
      kubeImage: 'fastapi-platform-runtime:test', kubeImagePullPolicy: 'Never', kubePresets: 'm128:128:1:50m,m512:512:0',
      kubeRuntimePort: world.runtimePort, kubeTokenKey: randomBytes(32).toString('base64'), kubeHostId: 'gw-platform',
    });
    api = new Api(platform.url, platform.takeAdminToken() ?? null);
  });
  after(async () => {
    await platform?.close();
    await world?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('serves a deployed function from a runtime Pod', async () => {
    const name = `k${randomBytes(3).toString('hex')}`;
    await deployed(api, name, handlerReturning({ hello: 'pod' }));
    const res = await fetch(`${platform.url}/fn/${name}/`);
    const body = await res.text();
    assert.equal(res.status, 200, body);
    assert.deepEqual(JSON.parse(body).value, { hello: 'pod' });
    const admin = world.cluster.config('admin').makeApiClient(CoreV1Api);
    const leased = await admin.listNamespacedPod({ namespace: world.cluster.namespace, labelSelector: `fastapi-platform.dev/pool=${world.pool},fastapi-platform.dev/holder=gw-platform` });
    assert.equal(leased.items.length, 1);
    const ready = await (await fetch(`${platform.url}/readyz`)).json() as { sandbox?: { mode?: string; unsafe?: boolean } };
    assert.equal(ready.sandbox?.mode, 'pod');
    assert.equal(ready.sandbox?.unsafe, false);
    assert.equal(platform.isolation.mode, 'pod');
  });
});
