/**
 * A real Kubernetes API server for the kube tier (test/README.md): kube-apiserver 1.34 on kine
 * (SQLite) as its datastore, token-file authentication and RBAC, both built once by
 * scripts/k8s-tools.sh into a cache outside the repository. No controller manager and no
 * scheduler: the test kubelet (test-kubelet.ts) binds and runs the Pods itself.
 *
 * Three users: `admin` (system:masters), `kubelet` (system:masters, for the test kubelet) and
 * `fp-platform`, bound to the Role the Helm chart gives the pool manager (Pods in one namespace,
 * nothing else), so the tests also prove that Role is enough.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';

/** The rules the Helm chart's Role grants the pool manager (deploy/helm/fastapi-platform/templates/rbac.yaml). */
export const POOL_MANAGER_RULES = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
];

const running = new Set<ChildProcess>();
/** Kills `child` if the test process dies without its after() hooks (a crash, a timeout's SIGTERM). */
export function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}
const killAll = (): void => {
  for (const child of running) child.kill('SIGKILL');
};
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

export function toolsDir(): string {
  const env = process.env['FP_K8S_TOOLS_DIR'];
  if (env !== undefined && env !== '') return join(env, 'bin');
  const cache = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(cache, 'fastapi-platform', 'k8s-tools', 'bin');
}

/** Why the tier cannot run here, or null when it can (in CI a missing tool is an error, not a skip). */
export function kubeTierUnavailable(): string | null {
  for (const tool of ['kube-apiserver', 'kine']) {
    if (!existsSync(join(toolsDir(), tool))) {
      const why = `${tool} is not built: run scripts/k8s-tools.sh (needs Go)`;
      if (process.env['CI']) throw new Error(why);
      return why;
    }
  }
  return null;
}

export interface TestCluster {
  readonly server: string;
  readonly namespace: string;
  /** A kubeconfig for `user` (admin, kubelet or fp-platform). */
  config(user: 'admin' | 'kubelet' | 'fp-platform'): KubeConfig;
  /**
   * Stops the API server and starts it again on the same port and datastore. `crash`: SIGKILL (no
   * farewell bookmarks to the watches); `downMs`: how long it stays down.
   */
  restartApiServer(options?: { crash?: boolean; downMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /**
   * Let kine compact its history every second, keeping only the last few revisions: a watch that
   * resumes from an older resourceVersion then gets 410 Gone, as after a long outage in a real cluster.
   */
  compact?: boolean;
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const bin = toolsDir();
  const dir = await mkdtemp(join(tmpdir(), 'fp-kube-'));
  const tokens = { admin: randomBytes(16).toString('hex'), kubelet: randomBytes(16).toString('hex'), 'fp-platform': randomBytes(16).toString('hex') };
  await writeFile(join(dir, 'tokens.csv'), [
    `${tokens.admin},admin,admin,"system:masters"`,
    `${tokens.kubelet},system:node:test-node,kubelet,"system:masters"`,
    `${tokens['fp-platform']},fp-platform,fp-platform`,
  ].join('\n') + '\n');
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  await writeFile(join(dir, 'sa.pub'), keys.publicKey);
  await writeFile(join(dir, 'sa.key'), keys.privateKey);

  const children = new Set<ChildProcess>();
  const output: string[] = [];
  const run = (cmd: string, args: string[]): ChildProcess => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      output.push(b.toString());
      if (output.length > 200) output.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    children.add(child);
    track(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  const kinePort = await freePort();
  const kine = run(join(bin, 'kine'), [
    '--endpoint', `sqlite://${join(dir, 'state.db')}?_journal=WAL&cache=shared&_busy_timeout=30000`,
    '--listen-address', `127.0.0.1:${kinePort}`, '--metrics-bind-address', '0',
    ...(options.compact === true ? ['--compact-interval', '1s', '--compact-min-retain', '10'] : []),
  ]);
  await waitPort(kinePort, 30_000, () => output.join(''));

  const port = await freePort();
  const server = `https://127.0.0.1:${port}`;
  const apiArgs = [
    `--etcd-servers=http://127.0.0.1:${kinePort}`,
    `--secure-port=${port}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
    `--cert-dir=${join(dir, 'certs')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--endpoint-reconciler-type=none',
  ];
  let api = run(join(bin, 'kube-apiserver'), apiArgs);
  const config = (user: keyof typeof tokens): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server, skipTLSVerify: true }],
      users: [{ name: user, token: tokens[user] }],
      contexts: [{ name: 'test', cluster: 'test', user, namespace: 'fp-test' }],
      currentContext: 'test',
    });
    return kc;
  };
  const ready = async (): Promise<void> => {
    const deadline = Date.now() + 90_000;
    const core = config('admin').makeApiClient(CoreV1Api);
    for (;;) {
      try {
        await core.listNamespace();
        // The bootstrap RBAC roles are in place once system:masters' binding can be read.
        await config('admin').makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name: 'cluster-admin' });
        return;
      } catch (err) {
        if (Date.now() > deadline || api.exitCode !== null) throw new Error(`kube-apiserver did not start: ${String(err)}\n${output.join('').slice(-3000)}`);
        await sleep(250);
      }
    }
  };
  try {
    await ready();
    const admin = config('admin');
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const namespace = 'fp-test';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'default' } } });
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name: 'fp-pool-manager' }, rules: POOL_MANAGER_RULES } });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'fp-pool-manager' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'fp-pool-manager' },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'fp-platform' }],
      },
    });
  } catch (err) {
    for (const child of children) child.kill('SIGKILL');
    throw err;
  }

  const stop = async (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    server,
    namespace: 'fp-test',
    config,
    async restartApiServer(restart = {}) {
      await stop(api, restart.crash === true ? 'SIGKILL' : 'SIGTERM');
      await sleep(restart.downMs ?? 0);
      api = run(join(bin, 'kube-apiserver'), apiArgs);
      await ready();
    },
    async close() {
      await stop(api);
      await stop(kine);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts on host:port. */
export async function waitPort(port: number, timeoutMs: number, why: () => string = () => '', host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms\n${why().slice(-3000)}`);
    await sleep(50);
  }
}
