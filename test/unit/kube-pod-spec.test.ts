/**
 * The runtime Pod spec (poolmgr/host/kube/pod-spec.ts) and the platform's preset option: what
 * every runtime Pod promises (non-root, read-only root, no escalation, seccomp, no token, only the
 * token's hash), how presets are chosen and parsed. No I/O.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPod, POD_LABEL, type PodPreset, type PodTemplate } from '../../poolmgr/index.js';
import { podToken, presetFor, tokenHash } from '../../poolmgr/host/kube/pod-spec.js';
import { loadConfig } from '../../platform/config.js';
import { parsePresets } from '../../platform/kube.js';

const MIB = 1024 * 1024;
const template: PodTemplate = {
  namespace: 'fn', pool: 'fp', image: 'rt:1', imagePullPolicy: 'IfNotPresent', pythonPath: '/usr/local/bin/python',
  runtimeEntry: '/opt/fastapi-platform/runtime/bootstrap.py', runtimePort: 8000, baselineMemoryBytes: 64 * MIB,
  tmpBytes: 64 * MIB, codeBytes: 50 * MIB, runAsUser: 10001, serviceAccountName: 'fp-runtime', nodeSelector: {},
  labels: { team: 'a' }, runtimeClassName: null, imagePullSecrets: [],
};
const preset: PodPreset = { name: 'm256', memoryBytes: 256 * MIB, cpuRequest: '100m', cpuLimit: null, warm: 2 };
const key = Buffer.alloc(32, 7);

describe('runtime Pod spec', () => {
  const pod = buildPod(template, preset, 'fp-rt-m256-abc', key, 'gw-1');
  const container = pod.spec!.containers[0]!;

  it('is locked down: non-root, read-only root, no escalation or capabilities, seccomp, no token', () => {
    assert.equal(pod.spec!.securityContext!.runAsNonRoot, true);
    assert.equal(pod.spec!.securityContext!.runAsUser, 10001);
    assert.equal(pod.spec!.securityContext!.seccompProfile!.type, 'RuntimeDefault');
    assert.equal(pod.spec!.automountServiceAccountToken, false);
    assert.equal(pod.spec!.restartPolicy, 'Never');
    assert.equal(container.securityContext!.allowPrivilegeEscalation, false);
    assert.equal(container.securityContext!.readOnlyRootFilesystem, true);
    assert.deepEqual(container.securityContext!.capabilities!.drop, ['ALL']);
  });

  it('is labelled warm in its pool and preset, sized from the preset, with only the token hash in it', () => {
    assert.equal(pod.metadata!.labels![POD_LABEL.pool], 'fp');
    assert.equal(pod.metadata!.labels![POD_LABEL.preset], 'm256');
    assert.equal(pod.metadata!.labels![POD_LABEL.state], 'warm');
    assert.equal(pod.metadata!.labels!['team'], 'a');
    assert.equal(container.resources!.limits!['memory'], '320Mi');
    assert.equal(container.resources!.requests!['memory'], '320Mi');
    assert.equal(container.resources!.limits!['cpu'], undefined);
    const token = podToken(key, 'fp', 'fp-rt-m256-abc');
    assert.equal(pod.metadata!.annotations!['fastapi-platform.dev/token-sha256'], tokenHash(token));
    assert.ok(!JSON.stringify(pod).includes(token), 'the token itself is nowhere in the spec');
    assert.ok(container.args!.includes('tcp:0.0.0.0:8000'));
    assert.equal(container.command, undefined, 'the image\'s entrypoint (tini) stays');
  });

  it('picks the smallest preset that fits a function, else the largest', () => {
    const presets = parsePresets('m128:128:2,m1024:1024:0:250m,m512:512:1');
    assert.equal(presetFor(presets, 0).name, 'm128');
    assert.equal(presetFor(presets, 200 * MIB).name, 'm512');
    assert.equal(presetFor(presets, 4096 * MIB).name, 'm1024');
    assert.deepEqual(presets[1], { name: 'm1024', memoryBytes: 1024 * MIB, warm: 0, cpuRequest: '250m', cpuLimit: null });
  });

  it('the platform refuses a kubernetes host without an image, and bad presets', () => {
    assert.throws(() => loadConfig({ FP_RUNTIME_HOST: 'kubernetes', FP_SECRETS_KEY: 'A'.repeat(43) + '=' }), (err: { issues?: { key: string }[] }) => err.issues?.some((i) => i.key === 'FP_KUBE_IMAGE') === true);
    assert.throws(() => loadConfig({ FP_KUBE_PRESETS: 'm1:x:2', FP_SECRETS_KEY: 'A'.repeat(43) + '=' }), (err: { issues?: { key: string }[] }) => err.issues?.some((i) => i.key === 'FP_KUBE_PRESETS') === true);
    const ok = loadConfig({ FP_RUNTIME_HOST: 'kubernetes', FP_KUBE_IMAGE: 'rt:1', FP_SECRETS_KEY: 'A'.repeat(43) + '=' });
    assert.equal(ok.kubePresets, 'm256:256:2:100m,m1024:1024:0:250m');
  });
});
