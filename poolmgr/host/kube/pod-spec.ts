/**
 * The Pod of one generic runtime, built from the host's options and a preset: labels that say
 * which pool, preset and state it is in, resources from the preset, a locked-down security
 * context, and the hash of its token in an annotation that a downward-API volume hands to the
 * runtime (the Pod spec never holds the token itself). Pure: tested without a cluster.
 */
import { createHash, createHmac } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';

/** The labels and annotations the host reads and writes. */
export const LABEL = {
  pool: 'fastapi-platform.dev/pool',
  preset: 'fastapi-platform.dev/preset',
  /** `warm` (free to lease) or `leased`. */
  state: 'fastapi-platform.dev/state',
  /** The host id holding a leased Pod. */
  holder: 'fastapi-platform.dev/holder',
} as const;
export const ANNOTATION = {
  tokenHash: 'fastapi-platform.dev/token-sha256',
  createdBy: 'fastapi-platform.dev/created-by',
  fn: 'fastapi-platform.dev/function',
} as const;

/** A size of runtime Pod: functions whose memory fits use it. */
export interface PodPreset {
  /** A DNS label, e.g. `m256`. */
  name: string;
  /** Memory a function may use in this preset (the container limit adds the runtime's baseline). */
  memoryBytes: number;
  /** CPU request, Kubernetes quantity (`100m`). */
  cpuRequest: string;
  /** CPU limit, or null for none (the CFS quota makes cold starts slow; docs/kubernetes.md). */
  cpuLimit: string | null;
  /** Ready Pods kept unleased for this preset, across every gateway. */
  warm: number;
}

export interface PodTemplate {
  namespace: string;
  /** The pool's name: every Pod of the pool carries it (one per installation). */
  pool: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Where the runtime is in the image. */
  pythonPath: string;
  runtimeEntry: string;
  runtimePort: number;
  /** Memory of the runtime itself, added to each preset's limit. */
  baselineMemoryBytes: number;
  /** Size of the Pod's /tmp (memory-backed) and of its code directory. */
  tmpBytes: number;
  codeBytes: number;
  /** The uid and gid the runtime runs as (not root). */
  runAsUser: number;
  serviceAccountName: string | null;
  nodeSelector: Record<string, string>;
  /** Extra labels on every runtime Pod (NetworkPolicy selectors, cost tags). */
  labels: Record<string, string>;
  runtimeClassName: string | null;
  imagePullSecrets: string[];
}

export const TOKEN_DIR = '/var/run/fastapi-platform';
export const CODE_DIR = '/var/lib/fastapi-platform/code';

/** The Pod's token: the platform derives it from its key, so any replica can and no Pod reader can. */
export function podToken(key: Buffer, pool: string, podName: string): string {
  return createHmac('sha256', key).update(`${pool}/${podName}`).digest('hex');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A Kubernetes quantity for a byte count (`268435456` → `256Mi`). */
export function bytesQuantity(bytes: number): string {
  const mi = bytes / (1024 * 1024);
  return Number.isInteger(mi) ? `${mi}Mi` : String(bytes);
}

export function buildPod(t: PodTemplate, preset: PodPreset, name: string, tokenKey: Buffer, createdBy: string): V1Pod {
  const memory = bytesQuantity(preset.memoryBytes + t.baselineMemoryBytes);
  const limits: Record<string, string> = { memory };
  if (preset.cpuLimit !== null) limits['cpu'] = preset.cpuLimit;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: t.namespace,
      labels: {
        ...t.labels,
        'app.kubernetes.io/name': 'fastapi-platform',
        'app.kubernetes.io/component': 'runtime',
        [LABEL.pool]: t.pool,
        [LABEL.preset]: preset.name,
        [LABEL.state]: 'warm',
      },
      annotations: {
        [ANNOTATION.tokenHash]: tokenHash(podToken(tokenKey, t.pool, name)),
        [ANNOTATION.createdBy]: createdBy,
      },
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 2,
      ...(t.serviceAccountName !== null ? { serviceAccountName: t.serviceAccountName } : {}),
      ...(t.runtimeClassName !== null ? { runtimeClassName: t.runtimeClassName } : {}),
      ...(Object.keys(t.nodeSelector).length > 0 ? { nodeSelector: t.nodeSelector } : {}),
      ...(t.imagePullSecrets.length > 0 ? { imagePullSecrets: t.imagePullSecrets.map((n) => ({ name: n })) } : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: t.runAsUser,
        runAsGroup: t.runAsUser,
        fsGroup: t.runAsUser,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [{
        name: 'runtime',
        image: t.image,
        imagePullPolicy: t.imagePullPolicy,
        // `args`, not `command`: the image's entrypoint (tini, deploy/docker/runtime.Dockerfile) stays
        // pid 1, forwarding signals and reaping what a function leaves behind.
        args: [
          t.pythonPath, '-I', t.runtimeEntry,
          '--listen', `tcp:0.0.0.0:${t.runtimePort}`,
          '--token-sha256-file', `${TOKEN_DIR}/token-sha256`,
          '--code-dir', CODE_DIR,
        ],
        ports: [{ name: 'runtime', containerPort: t.runtimePort, protocol: 'TCP' }],
        env: [{ name: 'LANG', value: 'C.UTF-8' }, { name: 'HOME', value: '/tmp' }],
        resources: { requests: { memory, cpu: preset.cpuRequest }, limits },
        readinessProbe: { tcpSocket: { port: t.runtimePort }, periodSeconds: 1, failureThreshold: 1 },
        // A runtime that fails leaves its last output in the Pod status (RuntimeHost.lastOutput).
        terminationMessagePolicy: 'FallbackToLogsOnError',
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ['ALL'] },
        },
        volumeMounts: [
          { name: 'token', mountPath: TOKEN_DIR, readOnly: true },
          { name: 'code', mountPath: CODE_DIR },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      }],
      volumes: [
        {
          name: 'token',
          projected: { sources: [{ downwardAPI: { items: [{ path: 'token-sha256', fieldRef: { fieldPath: `metadata.annotations['${ANNOTATION.tokenHash}']` } }] } }] },
        },
        { name: 'code', emptyDir: { sizeLimit: bytesQuantity(t.codeBytes) } },
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: bytesQuantity(t.tmpBytes) } },
      ],
    },
  };
}

/** The preset for a function of `memoryBytes`: the smallest that fits, else the largest (place() then refuses). */
export function presetFor(presets: readonly PodPreset[], memoryBytes: number): PodPreset {
  let best: PodPreset | null = null;
  for (const p of presets) if (p.memoryBytes >= memoryBytes && (best === null || p.memoryBytes < best.memoryBytes)) best = p;
  if (best !== null) return best;
  return presets.reduce((a, b) => (b.memoryBytes > a.memoryBytes ? b : a));
}
