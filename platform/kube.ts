/**
 * The Kubernetes runtime host from the platform's configuration (FP_RUNTIME_HOST=kubernetes;
 * every option in docs/kubernetes.md). Runtimes run as Pods of the configured image; the pool
 * manager keeps no generic runtimes of its own (the Pods are the warm pool), and a spawn may
 * wait for a Pod to be created, so it gets kubePodStartTimeoutMs.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { loadKubeHost, LocalCoordinator, RedisCoordinator, type KubeHost, type PodPreset, type PoolConfig } from '../poolmgr/index.js';
import type { PlatformConfig } from './config.js';

const MIB = 1024 * 1024;

export interface KubeSetup {
  host: KubeHost;
  /** What the pool manager's config changes under this host. */
  pool: Partial<PoolConfig>;
}

/** Connects to the API server (fails fast on a bad kubeconfig, unreachable server or missing RBAC) and adopts the pool. */
export async function openKubeHost(config: PlatformConfig, codeRoots: string[], log: (line: string) => void): Promise<KubeSetup> {
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig !== undefined) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromCluster();
  const hostId = config.kubeHostId ?? `${hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 40)}-${randomBytes(3).toString('hex')}`;
  if (config.kubeTokenKey === undefined) {
    log('platform: warning: FP_KUBE_TOKEN_KEY is not set: runtime Pod tokens use a key made for this start, so a restart cannot adopt the warm Pods and other gateways cannot use them');
  }
  const tokenKey = config.kubeTokenKey !== undefined ? Buffer.from(config.kubeTokenKey.trim(), 'base64') : randomBytes(32);
  const coordinator = config.redisUrl !== undefined
    ? await RedisCoordinator.open({ redisUrl: config.redisUrl, prefix: config.redisPrefix, pool: config.kubePool, hostId, log })
    : new LocalCoordinator(hostId);
  const KubeHostClass = await loadKubeHost();
  const host = new KubeHostClass({
    kubeConfig, hostId, coordinator, tokenKey, log,
    namespace: config.kubeNamespace,
    pool: config.kubePool,
    image: config.kubeImage!,
    imagePullPolicy: config.kubeImagePullPolicy,
    pythonPath: '/usr/local/bin/python',
    runtimeEntry: '/opt/fastapi-platform/runtime/bootstrap.py',
    runtimePort: config.kubeRuntimePort,
    presets: parsePresets(config.kubePresets),
    baselineMemoryBytes: 64 * MIB,
    tmpBytes: config.sandboxTmpBytes,
    codeBytes: config.maxBundleBytes,
    runAsUser: 10001,
    serviceAccountName: config.kubeServiceAccount ?? null,
    nodeSelector: {},
    labels: {},
    runtimeClassName: null,
    imagePullSecrets: [],
    codeRoots,
  });
  try {
    await host.start();
  } catch (err) {
    await host.close().catch(() => {});
    throw new Error(`the Kubernetes runtime host could not list its Pods in namespace ${config.kubeNamespace} (kubeconfig, API server address and RBAC: docs/kubernetes.md): ${(err as Error).message}`);
  }
  return { host, pool: { poolSize: 0, spawnTimeoutMs: config.kubePodStartTimeoutMs } };
}

/** `m256:256:2:100m,m1024:1024:0` → presets (the first serves runtimes spawned without a hint). */
export function parsePresets(text: string): PodPreset[] {
  return text.split(',').map((item) => {
    const [name, mib, warm, cpu] = item.split(':') as [string, string, string, string | undefined];
    return { name, memoryBytes: Number(mib) * MIB, warm: Number(warm), cpuRequest: cpu ?? '100m', cpuLimit: null };
  });
}
