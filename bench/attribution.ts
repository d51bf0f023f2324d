/**
 * Which of a platform's CPU profile samples are the recording of runs (issue 11: "recording costs
 * ≤ 10 %"), for bench/profile.ts. Section 4 measures the cost as throughput against directory
 * mode, whose ratios swing with the machine's load; this counts the work itself: the samples of
 * the code that exists to record (run records, the run sink and its recorders, the stores'
 * clients, live metrics), as a share of the platform's CPU per request, plus the CPU the store
 * servers spend per request in production mode.
 */

export type RecordingGroup = 'run records' | 'run sink and recorders' | 'store clients' | 'gateway metrics';

const SINK_FILES = /\/dist\/controlplane\/store\/(run-sink|recorder|sample-recorder|run-sampling|sink-metrics|metrics\/[a-z-]+|sqlite\/(runs|usage-history)|production\/(runs|redis-metrics|usage-history))\.js$/;
const STORE_CLIENTS = /\/node_modules\/(better-sqlite3|mongodb|bson|ioredis|@ioredis|redis-errors|redis-parser|denque|cluster-key-slot|standard-as-callback)\//;

/** The recording group a profile node belongs to, from its call frame; null: not recording. */
export function recordingGroup(functionName: string, url: string): RecordingGroup | null {
  if (url.endsWith('/dist/gateway/runs.js') || (functionName === 'recordRun' && url.endsWith('/dist/gateway/invoke.js'))) return 'run records';
  if (SINK_FILES.test(url)) return 'run sink and recorders';
  if (STORE_CLIENTS.test(url)) return 'store clients';
  if (url.endsWith('/dist/gateway/metrics.js') || url.includes('/node_modules/prom-client/')) return 'gateway metrics';
  return null;
}

export interface Attribution {
  /** µs of profile samples per request, by group, and all busy (non-idle) samples. */
  groups: Map<RecordingGroup, number>;
  busyUs: number;
}

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Sums the self time of the samples taken in [fromUs, toUs] (CLOCK_MONOTONIC µs, which is V8's
 * clock for profile timestamps on Linux, and `process.hrtime`'s) per recording group and of all
 * non-idle samples, each per request served in that window.
 */
export function attribute(profile: CpuProfile, fromUs: number, toUs: number, requests: number): Attribution {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const groups = new Map<RecordingGroup, number>();
  let busy = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs) return;
    const frame = frames.get(id)!;
    if (frame.functionName === '(idle)') return;
    busy += delta;
    const group = recordingGroup(frame.functionName, frame.url);
    if (group !== null) groups.set(group, (groups.get(group) ?? 0) + delta);
  });
  const per = Math.max(1, requests);
  for (const [group, us] of groups) groups.set(group, us / per);
  return { groups, busyUs: busy / per };
}

/**
 * Recording's share of the work per request: the recording samples' share of the platform
 * process's busy samples, applied to its measured CPU per request, plus the store servers' CPU
 * per request, over everything the platform side spent (its process tree and the stores).
 */
export function recordingShare(a: Attribution, platformNodeUsPerReq: number, treeUsPerReq: number, storesUsPerReq: number): { recordingUs: number; totalUs: number; share: number } {
  const sampled = [...a.groups.values()].reduce((x, y) => x + y, 0);
  const inProcess = a.busyUs > 0 ? (sampled / a.busyUs) * platformNodeUsPerReq : 0;
  const recordingUs = inProcess + storesUsPerReq;
  const totalUs = treeUsPerReq + storesUsPerReq;
  return { recordingUs, totalUs, share: totalUs > 0 ? recordingUs / totalUs : 0 };
}
