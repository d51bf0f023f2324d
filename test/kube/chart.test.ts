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
    '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'autoscaling.enabled=false',
    '--set', 'existingSecret=fp-keys', '--set', 'networkPolicy.enabled=false',
    '--set', 'metrics.serviceMonitor.tokenSecret.name=fp-metrics-token',
  ],
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
