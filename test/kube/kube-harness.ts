/**
 * The kube tier's set-up: a real API server (kube-cluster.ts), the test kubelet running Pods as
 * local processes (test-kubelet.ts), and Kubernetes hosts as the platform would build them,
 * authenticated as the pool manager's RBAC user. Run the tier alone with `npm run test:kube`.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { defaultPoolConfig, loadKubeHost, type KubeHost, type KubeHostOptions, type PodPreset } from '../../poolmgr/index.js';
import { findRepoRoot } from '../../poolmgr/config.js';
import { freePort, startCluster, type ClusterOptions, type TestCluster } from '../helpers/kube-cluster.js';
import { TestKubelet } from '../helpers/test-kubelet.js';

export const IMAGE_ROOT = '/opt/fastapi-platform';

export interface KubeWorld {
  cluster: TestCluster;
  kubelet: TestKubelet;
  /** One port for every runtime Pod (each Pod has its own loopback address). */
  runtimePort: number;
  tokenKey: Buffer;
  pool: string;
  host(overrides?: Partial<KubeHostOptions>): KubeHost;
  close(): Promise<void>;
}

export const PRESETS: PodPreset[] = [
  { name: 'm128', memoryBytes: 128 * 1024 * 1024, cpuRequest: '50m', cpuLimit: null, warm: 2 },
  { name: 'm512', memoryBytes: 512 * 1024 * 1024, cpuRequest: '100m', cpuLimit: null, warm: 0 },
];

export async function startWorld(options: ClusterOptions = {}): Promise<KubeWorld> {
  const cluster = await startCluster(options);
  const root = findRepoRoot(import.meta.dirname);
  const { pythonPath } = defaultPoolConfig();
  const kubelet = new TestKubelet({ config: cluster.config('kubelet'), namespace: cluster.namespace, pythonPath, imagePaths: { [IMAGE_ROOT]: root } });
  await kubelet.start();
  const runtimePort = await freePort();
  const tokenKey = randomBytes(32);
  const pool = `t${randomBytes(3).toString('hex')}`;
  const KubeHostClass = await loadKubeHost();
  return {
    cluster, kubelet, runtimePort, tokenKey, pool,
    host: (overrides = {}) => new KubeHostClass({
      kubeConfig: cluster.config('fp-platform'),
      namespace: cluster.namespace,
      pool,
      hostId: `gw-${randomBytes(3).toString('hex')}`,
      image: 'fastapi-platform-runtime:test',
      imagePullPolicy: 'Never',
      pythonPath: 'python',
      runtimeEntry: `${IMAGE_ROOT}/runtime/bootstrap.py`,
      runtimePort,
      baselineMemoryBytes: 64 * 1024 * 1024,
      tmpBytes: 64 * 1024 * 1024,
      codeBytes: 64 * 1024 * 1024,
      runAsUser: 10001,
      serviceAccountName: null,
      nodeSelector: {},
      labels: {},
      runtimeClassName: null,
      imagePullSecrets: [],
      presets: PRESETS,
      tokenKey,
      codeRoots: [tmpdir()],
      exitReportMs: 3_000,
      reconcileIntervalMs: 500,
      surplusIdleMs: 2_000,
      log: () => {},
      ...overrides,
    }),
    async close() {
      await kubelet.close();
      await cluster.close();
    },
  };
}
