/**
 * The Helm chart (deploy/helm/fastapi-platform): `helm lint --strict`, and `helm template` in
 * several configurations validated by kubeconform in strict mode against the JSON schemas of the
 * Kubernetes version the tier runs (made once from the test API server's OpenAPI document and
 * cached beside the tools, since kubeconform cannot download its schemas here), plus a small
 * schema for the Prometheus Operator's ServiceMonitor. Also checks what the chart promises:
 * the pool manager's Role is only about Pods, and runtime Pods are fenced by NetworkPolicy.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { findRepoRoot } from '../../poolmgr/config.js';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { readPersistence } from '../../controlplane/store/production/redis-persistence.js';
import { kubeTierUnavailable, POOL_MANAGER_RULES, startCluster, toolsDir } from '../helpers/kube-cluster.js';
import { startRedis } from '../helpers/servers.js';

const root = findRepoRoot(import.meta.dirname);
const chart = join(root, 'deploy', 'helm', 'fastapi-platform');
const K8S_VERSION = 'v1.34.4';
const skip = kubeTierUnavailable() ?? (existsSync(join(toolsDir(), 'helm')) && existsSync(join(toolsDir(), 'kubeconform')) ? false : 'helm or kubeconform not built: run scripts/k8s-tools.sh');

const VARIANTS: Record<string, string[]> = {
  defaults: [],
  'external stores, monitoring, fixed replicas': [
    '--set', 'redis.enabled=false', '--set', 'redis.url=redis://redis.example:6379',
    '--set', 'mongodb.enabled=false', '--set', 'mongodb.url=mongodb://mongo.example:27017/',
    '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true', '--set', 'autoscaling.enabled=false',
    '--set', 'existingSecret=fp-keys', '--set', 'networkPolicy.enabled=false',
    '--set', 'metrics.serviceMonitor.tokenSecret.name=fp-metrics-token',
  ],
  'admin token to a file': ['--set', 'adminToken.toFile=true'],
};

function helm(args: string[]): string {
  return execFileSync(join(toolsDir(), 'helm'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('Helm chart', { skip }, () => {
  it('passes helm lint --strict', () => {
    helm(['lint', '--strict', chart]);
    helm(['lint', '--strict', chart, ...VARIANTS['external stores, monitoring, fixed replicas']!]);
  });

  for (const [name, args] of Object.entries(VARIANTS)) {
    it(`renders valid manifests (${name}): kubeconform -strict`, async () => {
      const schemas = await schemaDir();
      const manifests = helm(['template', 'fp', chart, '--namespace', 'fp', ...args]);
      const run = spawnSync(join(toolsDir(), 'kubeconform'), [
        '-strict', '-summary', '-kubernetes-version', K8S_VERSION.slice(1),
        '-schema-location', join(schemas, '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
        '-schema-location', join(root, 'test', 'kube', 'schemas', '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
        '-',
      ], { input: manifests, encoding: 'utf8' });
      assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /Invalid: 0, Errors: 0, Skipped: 0/);
    });
  }

  it('gives the pool manager Pods in its namespace and nothing else, and fences runtime Pods', () => {
    const docs = parseAllDocuments(helm(['template', 'fp', chart, '--namespace', 'fp'])).map((d) => d.toJS() as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered YAML
    const kinds = docs.map((d) => d['kind']);
    assert.ok(!kinds.includes('ClusterRole') && !kinds.includes('ClusterRoleBinding'), 'no cluster-wide permission');
    const role = docs.find((d) => d['kind'] === 'Role');
    assert.deepEqual(role?.['rules'], POOL_MANAGER_RULES);
    const policy = docs.find((d) => d['kind'] === 'NetworkPolicy' && String(d['metadata']['name']).endsWith('-runtime'));
    assert.deepEqual(policy?.['spec']['policyTypes'], ['Ingress', 'Egress']);
    assert.equal(policy?.['spec']['ingress'][0]['from'][0]['podSelector']['matchLabels']['app.kubernetes.io/component'], 'gateway');
    const deployment = docs.find((d) => d['kind'] === 'Deployment');
    const env = new Map<string, unknown>(deployment?.['spec']['template']['spec']['containers'][0]['env'].map((e: { name: string; value?: string }) => [e.name, e.value]));
    assert.equal(env.get('FP_RUNTIME_HOST'), 'kubernetes');
    assert.equal(env.get('FP_KUBE_POOL'), policy?.['spec']['podSelector']['matchLabels']['fastapi-platform.dev/pool']);
    const dashboard = docs.find((d) => d['kind'] === 'ConfigMap' && String(d['metadata']['name']).endsWith('-dashboard'));
    const panels = JSON.parse(dashboard?.['data']['fastapi-platform.json']).panels as { title: string }[];
    assert.ok(panels.some((p) => /cold/i.test(p.title)), 'the dashboard has cold-start panels');
  });

  // Red team round 34: the egress rule let runtime Pods reach every address outside the private
  // ranges, the cloud's instance metadata (169.254.169.254) among them: a function read the node's
  // credentials (EC2's IAM role, GCE's service account, Azure's managed identity).
  it('keeps runtime Pods from the cloud\'s instance metadata, DNS on the node allowed, also with the cluster ranges set', () => {
    for (const args of [[], ['--set', 'networkPolicy.clusterCIDRs={10.96.0.0/12,10.244.0.0/16}']]) {
      const docs = parseAllDocuments(helm(['template', 'fp', chart, '--namespace', 'fp', ...args])).map((d) => d.toJS() as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered YAML
      const policy = docs.find((d) => d['kind'] === 'NetworkPolicy' && String(d['metadata']['name']).endsWith('-runtime'));
      const egress = policy?.['spec']['egress'] as EgressRule[];
      assert.equal(egressAllows(egress, '169.254.169.254', 80), false, `the instance metadata is reachable (${args.join(' ')})`);
      assert.equal(egressAllows(egress, '169.254.170.23', 80), false, 'the EKS Pod Identity agent is reachable');
      assert.equal(egressAllows(egress, '100.100.100.200', 80), false, 'Alibaba\'s metadata is reachable');
      assert.equal(egressAllows(egress, '169.254.20.10', 53), true, 'NodeLocal DNSCache is not reachable');
      assert.equal(egressAllows(egress, '203.0.113.7', 443), true, 'the world outside is not reachable');
      assert.equal(egressAllows(egress, '10.96.0.1', 443), false, 'the cluster is reachable');
    }
  });

  // Docs audit: `imagePullSecrets` reached the gateway's Pods only; runtime Pods, which the pool
  // manager creates under the runtime account, could not pull `runtime.image` from the same private registry.
  it('gives imagePullSecrets to the gateway Pods and to the runtime Pods\' account, and none when unset', () => {
    const render = (...args: string[]) => parseAllDocuments(helm(['template', 'fp', chart, '--namespace', 'fp', ...args])).map((d) => d.toJS() as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered YAML
    const runtimeAccount = (docs: Record<string, any>[]) => docs.find((d) => d['kind'] === 'ServiceAccount' && String(d['metadata']['name']).endsWith('-runtime')); // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered YAML
    const withSecret = render('--set', 'imagePullSecrets[0].name=regcred');
    assert.deepEqual(runtimeAccount(withSecret)?.['imagePullSecrets'], [{ name: 'regcred' }]);
    assert.deepEqual(withSecret.find((d) => d['kind'] === 'Deployment')?.['spec']['template']['spec']['imagePullSecrets'], [{ name: 'regcred' }]);
    assert.equal(runtimeAccount(render())?.['imagePullSecrets'], undefined);
  });

  // ADR 0135 left the chart printing the admin token into the gateway's log (shipped and kept);
  // adminToken.toFile sets FP_ADMIN_TOKEN_FILE on a memory-backed volume instead (loose ends 1).
  it('adminToken.toFile writes the admin token to a file on a memory volume (FP_ADMIN_TOKEN_FILE); unset, neither is there', () => {
    const gateway = (...args: string[]) => parseAllDocuments(helm(['template', 'fp', chart, '--namespace', 'fp', ...args])).map((d) => d.toJS() as Record<string, any>).find((d) => d['kind'] === 'Deployment' && d['metadata']['labels']['app.kubernetes.io/component'] === 'gateway')!['spec']['template']['spec']; // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered YAML
    const on = gateway('--set', 'adminToken.toFile=true');
    const container = on['containers'][0];
    const env = container['env'].find((e: { name: string }) => e.name === 'FP_ADMIN_TOKEN_FILE');
    assert.equal(env?.value, '/var/run/fastapi-platform/admin-token');
    assert.deepEqual(container['volumeMounts'].find((m: { name: string }) => m.name === 'admin-token'), { name: 'admin-token', mountPath: '/var/run/fastapi-platform' });
    assert.deepEqual(on['volumes'].find((v: { name: string }) => v.name === 'admin-token'), { name: 'admin-token', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
    const off = gateway();
    assert.equal(off['containers'][0]['env'].some((e: { name: string }) => e.name === 'FP_ADMIN_TOKEN_FILE'), false);
    assert.equal(off['volumes'].some((v: { name: string }) => v.name === 'admin-token'), false);
  });

  // Ops round 1: the in-chart Redis ran with `--save "" --appendonly no`, which the platform refuses
  // for async runs and reports as not ready: no gateway of a fresh `helm install` became Ready.
  it('the in-chart Redis persists: the platform judges a redis-server with its arguments durable, and its data is on a volume claim', async () => {
    const docs = parseAllDocuments(helm(['template', 'fp', chart, '--namespace', 'fp'])).map((d) => d.toJS() as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered YAML
    const redis = docs.find((d) => d['kind'] === 'StatefulSet' && d['spec']['template']['metadata']['labels']['app.kubernetes.io/component'] === 'redis')!;
    const pod = redis['spec']['template']['spec'];
    const container = pod['containers'][0];
    const mount = container['volumeMounts'].find((m: { name: string }) => m.name === 'data');
    assert.ok(!(pod['volumes'] ?? []).some((v: { name: string }) => v.name === 'data'), 'no emptyDir for the data');
    assert.deepEqual(redis['spec']['volumeClaimTemplates'].map((c: { metadata: { name: string } }) => c.metadata.name), ['data']);
    // Its files go to the volume; here, the chart's other arguments on this machine's redis-server (in a directory of the test's).
    const chartArgs = container['args'] as string[];
    const dirAt = chartArgs.indexOf('--dir');
    assert.equal(chartArgs[dirAt + 1], mount.mountPath);
    const server = await startRedis({ args: chartArgs.filter((_, i) => i !== dirAt && i !== dirAt + 1) });
    try {
      const client = connectRedis(server.url);
      await redisReady(client);
      try {
        const judged = await readPersistence(client);
        assert.ok(judged.persistent, JSON.stringify(judged));
      } finally {
        client.disconnect();
      }
    } finally {
      await server.destroy();
    }
  });

  it('the ServiceMonitor sends the token of metrics.serviceMonitor.tokenSecret, and none when unset (ADR 0036)', () => {
    const monitor = (args: string[]): Record<string, any> => // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered YAML
      parseAllDocuments(helm(['template', 'fp', chart, '--namespace', 'fp', '--set', 'metrics.serviceMonitor.enabled=true', ...args]))
        .map((d) => d.toJS() as Record<string, any>) // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered YAML
        .find((d) => d['kind'] === 'ServiceMonitor')!['spec']['endpoints'][0];
    assert.deepEqual(monitor(['--set', 'metrics.serviceMonitor.tokenSecret.name=fp-metrics-token'])['authorization'], {
      type: 'Bearer', credentials: { name: 'fp-metrics-token', key: 'token' },
    });
    assert.equal(monitor([])['authorization'], undefined);
  });
});

// Ops round 2: kubeconform judged the rendered manifests against schemas; none had been sent to
// an API server, which also applies defaulting, validation of values and admission. Every
// variant, as docs/kubernetes.md documents its values, is created on the tier's real API server
// with a server-side dry run and strict field validation; the chart's Role is then bound for
// real and the API server asked what the gateway's service account may do.
describe('the chart on a real API server', { skip }, () => {
  it('every rendered object of every variant is accepted (dry run, strict field validation); the Role grants what docs/kubernetes.md lists', async () => {
    const cluster = await startCluster();
    try {
      const token = cluster.config('admin').getCurrentUser()!.token!;
      const api = (method: string, path: string, body?: unknown) => call(method, `${cluster.server}${path}`, token, body);
      const ns = 'functions';
      assert.equal((await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })).status, 201);
      const variants = { ...VARIANTS, 'documented values': DOCUMENTED_VALUES };
      for (const [name, args] of Object.entries(variants)) {
        const docs = parseAllDocuments(helm(['template', 'fp', chart, '--namespace', ns, '--kube-version', K8S_VERSION, ...args]))
          .map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string } } | null)
          .filter((d) => d !== null && d.kind !== 'ServiceMonitor' && d.kind !== 'PrometheusRule'); // CRDs' kinds: no such API here (kubeconform checks them above)
        assert.ok(docs.length >= 7, `${name}: ${docs.length} objects`);
        for (const doc of docs) {
          const res = await api('POST', `${collectionPath(doc!.apiVersion, doc!.kind, ns)}?dryRun=All&fieldValidation=Strict`, doc);
          assert.equal(res.status, 201, `${name}: ${doc!.kind} ${doc!.metadata.name}: ${res.status} ${res.body}`);
        }
      }
      // The Role and its binding for real, then a SubjectAccessReview per verb.
      const docs = parseAllDocuments(helm(['template', 'fp', chart, '--namespace', ns, '--kube-version', K8S_VERSION])).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string } });
      for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) {
        for (const doc of docs.filter((d) => d?.kind === kind)) assert.equal((await api('POST', collectionPath(doc.apiVersion, doc.kind, ns), doc)).status, 201, kind);
      }
      const account = docs.find((d) => d?.kind === 'Deployment') as unknown as { spec: { template: { spec: { serviceAccountName: string } } } };
      const user = `system:serviceaccount:${ns}:${account.spec.template.spec.serviceAccountName}`;
      const may = async (verb: string, resource: string, namespace = ns): Promise<boolean> => {
        const review = await api('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
          spec: { user, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'], resourceAttributes: { namespace, verb, resource } },
        });
        assert.equal(review.status, 201, review.body);
        return (JSON.parse(review.body) as { status: { allowed: boolean } }).status.allowed;
      };
      // The authorizer reads Roles and bindings from its watch cache: the new binding shows a moment later.
      for (const deadline = Date.now() + 20_000; !(await may('get', 'pods'));) {
        assert.ok(Date.now() < deadline, 'the Role binding never took effect');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const verb of ['get', 'list', 'watch', 'create', 'delete', 'patch']) assert.equal(await may(verb, 'pods'), true, `pods ${verb}`);
      assert.equal(await may('update', 'pods'), false);
      assert.equal(await may('get', 'secrets'), false);
      assert.equal(await may('create', 'pods/exec'), false);
      assert.equal(await may('create', 'pods', 'default'), false, 'no Pods in another namespace');
    } finally {
      await cluster.close();
    }
  });
});

/** Every value docs/kubernetes.md lists (that has no variant above), set at once to a value of its own. */
const DOCUMENTED_VALUES = [
  '--set', 'image.repository=registry.example/fastapi-platform', '--set', 'image.tag=0.1.1', '--set', 'image.pullPolicy=Always',
  '--set', 'replicaCount=3', '--set', 'autoscaling.enabled=true', '--set', 'autoscaling.minReplicas=3', '--set', 'autoscaling.maxReplicas=6',
  '--set', 'autoscaling.targetCPUUtilizationPercentage=60', '--set', 'resources.requests.cpu=1', '--set', 'resources.limits.memory=3Gi',
  '--set', 'service.type=NodePort', '--set', 'service.port=8080',
  '--set', 'extraEnv[0].name=FP_LOG_FORMAT', '--set', 'extraEnv[0].value=json',
  '--set', 'runtime.image.repository=registry.example/fastapi-platform-runtime', '--set', 'runtime.presets=m128:128:1:50m\\,m512:512:0',
  '--set', 'runtime.port=9000', '--set', 'runtime.podStartTimeoutMs=60000', '--set', 'runtime.pool=team-a',
  '--set', 'tokenKey=' + 'A'.repeat(43) + '=', '--set', 'secretsKey=' + 'B'.repeat(43) + '=',
  '--set', 'redis.storage=2Gi', '--set', 'mongodb.database=fp_team', '--set', 'mongodb.storage=16Gi',
  '--set', 'networkPolicy.clusterCIDRs={10.96.0.0/12,10.244.0.0/16}', '--set', 'networkPolicy.metadataCIDRs={169.254.0.0/16}',
  '--set', 'metrics.dashboard.enabled=true', '--set', 'nodeSelector.pool=gateways',
  '--set', 'tolerations[0].key=dedicated', '--set', 'tolerations[0].operator=Exists',
];

interface EgressRule {
  to?: { ipBlock?: { cidr: string; except?: string[] } }[];
  ports?: { protocol: string; port: number }[];
}

/** Whether an IPv4 address is in a CIDR block. */
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const n = (a: string): number => a.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(base) / size);
}

/** Whether any egress rule's ipBlocks let TCP or UDP to `ip`:`port` through (pod selectors aside). */
function egressAllows(rules: readonly EgressRule[], ip: string, port: number): boolean {
  return rules.some((rule) => (rule.ports === undefined || rule.ports.some((p) => p.port === port))
    && (rule.to ?? []).some((peer) => peer.ipBlock !== undefined && inCidr(ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(ip, c))));
}

/** The collection URL of `kind` in `apiVersion` (the chart's kinds: plurals by -s, or -y → -ies). */
function collectionPath(apiVersion: string, kind: string, namespace: string): string {
  const lower = kind.toLowerCase();
  const plural = lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`;
  return `${apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`}/namespaces/${namespace}/${plural}`;
}

function call(method: string, url: string, token: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The kubeconform schemas of K8S_VERSION, made once from the API server's OpenAPI v2 document. */
async function schemaDir(): Promise<string> {
  const dir = join(dirname(toolsDir()), 'schemas', K8S_VERSION);
  if (existsSync(dir) && (await readdir(dir)).length > 0) return dir;
  const cluster = await startCluster();
  let openapi: { definitions: Record<string, Schema> };
  try {
    const kc = cluster.config('admin');
    openapi = JSON.parse(await get(`${cluster.server}/openapi/v2`, kc.getCurrentUser()!.token!));
  } finally {
    await cluster.close();
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  await mkdir(tmp, { recursive: true });
  for (const [name, def] of Object.entries(openapi.definitions)) {
    for (const gvk of (def['x-kubernetes-group-version-kind'] ?? []) as { group: string; version: string; kind: string }[]) {
      const suffix = gvk.group === '' ? `-${gvk.version}` : `-${gvk.group.split('.')[0]}-${gvk.version}`;
      await writeFile(join(tmp, `${gvk.kind.toLowerCase()}${suffix}.json`), JSON.stringify(standalone(name, openapi.definitions)));
    }
  }
  await mkdir(dirname(dir), { recursive: true });
  await rename(tmp, dir).catch(() => {}); // another run may have made it meanwhile
  return dir;
}

type Schema = Record<string, unknown>;

/** One kind's schema with the definitions it uses, strict (no unknown fields), IntOrString and Quantity as string or number. */
function standalone(name: string, all: Record<string, Schema>): Schema {
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string') {
          const ref = v.replace('#/definitions/', '');
          if (!used.has(ref)) {
            used.add(ref);
            visit(all[ref]);
          }
        } else visit(v);
      }
    }
  };
  visit(all[name]);
  const fix = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(fix);
    if (typeof node !== 'object' || node === null) return node;
    const out: Schema = {};
    for (const [k, v] of Object.entries(node)) out[k] = fix(v);
    if (out['format'] === 'int-or-string' || out['format'] === 'quantity') {
      delete out['type'];
      out['oneOf'] = [{ type: 'string' }, { type: 'number' }];
    }
    if (out['properties'] !== undefined && out['additionalProperties'] === undefined) out['additionalProperties'] = false;
    return out;
  };
  const definitions: Schema = {};
  for (const ref of used) definitions[ref] = fix(all[ref]);
  return { ...(fix(all[name]) as Schema), definitions };
}

function get(url: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`GET ${url}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}
