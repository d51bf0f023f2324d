/**
 * Running wrk and reading its `--latency` report. wrk is Debian's package (`apt-get install -y wrk`);
 * `requireWrk()` says so clearly when it is missing.
 */
import { spawn, spawnSync } from 'node:child_process';

export interface WrkOptions {
  url: string;
  connections: number;
  threads: number;
  durationS: number;
  /** Per-request socket timeout passed to wrk (`--timeout`), seconds. */
  timeoutS?: number;
  /** A Lua script (`-s`) building the requests, and its arguments (after `--`). */
  script?: string;
  scriptArgs?: string[];
}

export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  /** Latency percentiles in microseconds. */
  p50Us: number;
  p75Us: number;
  p90Us: number;
  p99Us: number;
  avgUs: number;
  maxUs: number;
  /** Responses with a status outside 2xx/3xx: a run with any of them does not count. */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** The options it ran with. */
  connections: number;
  threads: number;
  durationS: number;
}

/** Throws with an install hint when wrk is not on PATH. */
export function requireWrk(): string {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error(
      'wrk (the HTTP load generator) is not installed or not on PATH.\n' +
        '  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk\n' +
        '  macOS: brew install wrk',
    );
  }
  // wrk prints its banner and usage, then exits non-zero; the first line names the version.
  return `${probe.stdout}${probe.stderr}`.split('\n')[0]?.trim() ?? 'wrk';
}

const TIME_UNIT_US: Record<string, number> = { us: 1, ms: 1_000, s: 1_000_000, m: 60_000_000, h: 3_600_000_000 };

/** `635.91us`, `1.2ms`, `3.00s`, `1.00m` → microseconds. */
export function parseWrkDurationUs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`wrk: unreadable duration "${text}"`);
  return Number(match[1]) * TIME_UNIT_US[match[2]!]!;
}

/** Parses the text wrk prints with `--latency`. Exported for a unit check. */
export function parseWrkOutput(text: string): Omit<WrkResult, 'connections' | 'threads' | 'durationS'> {
  const percentile = (p: string): number => {
    const match = new RegExp(`^\\s*${p}%\\s+(\\S+)\\s*$`, 'm').exec(text);
    if (!match) throw new Error(`wrk: no ${p}% latency line in output:\n${text}`);
    return parseWrkDurationUs(match[1]!);
  };
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const total = /^\s*(\d+) requests in /m.exec(text);
  const latency = /^\s*Latency\s+(\S+)\s+\S+\s+(\S+)/m.exec(text);
  if (!rps || !total || !latency) throw new Error(`wrk: unexpected output:\n${text}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requestsPerSec: Number(rps[1]),
    requests: Number(total[1]),
    p50Us: percentile('50'),
    p75Us: percentile('75'),
    p90Us: percentile('90'),
    p99Us: percentile('99'),
    avgUs: parseWrkDurationUs(latency[1]!),
    maxUs: parseWrkDurationUs(latency[2]!),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
  };
}
/** Runs wrk once; rejects if wrk fails or its output cannot be read. Bounded by the duration. */
export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    `--timeout`,
    `${options.timeoutS ?? 5}s`,
    '--latency',
    ...(options.script ? ['-s', options.script] : []),
    options.url,
    ...(options.script && options.scriptArgs?.length ? ['--', ...options.scriptArgs] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    // wrk stops itself after the duration; this is only a guard against a hang.
    const guard = setTimeout(() => child.kill('SIGKILL'), (options.durationS + 30) * 1000);
    child.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(guard);
      if (code !== 0) {
        reject(new Error(`wrk ${args.join(' ')} exited with ${code}:\n${out}`));
        return;
      }
      try {
        resolve({
          ...parseWrkOutput(out),
          connections: options.connections,
          threads: options.threads,
          durationS: options.durationS,
        });
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** A run counts only if every response was 2xx/3xx and no socket read/write/timeout errors happened. */
export function wrkProblems(result: WrkResult): string[] {
  const problems: string[] = [];
  if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx responses`);
  const { connect, read, write, timeout } = result.socketErrors;
  if (connect + read + write + timeout > 0) {
    problems.push(`socket errors connect ${connect}, read ${read}, write ${write}, timeout ${timeout}`);
  }
  if (result.requests === 0) problems.push('no requests completed');
  return problems;
}
