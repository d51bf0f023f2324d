/** What the numbers were measured on: recorded with every result. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { PYTHON, ROOT } from './paths.js';

export interface Machine {
  node: string;
  python: string;
  wrk: string;
  cpuModel: string;
  cpus: number;
  memoryBytes: number;
  loadavg: number[];
  /** HEAD of the repository and whether the tree had changes (read-only git calls). */
  commit: string | null;
  dirty: boolean | null;
}

function tryRun(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return null;
  }
}

export function describeMachine(wrkVersion: string): Machine {
  const status = tryRun('git', ['status', '--porcelain']);
  return {
    node: process.version,
    python: tryRun(PYTHON, ['-c', 'import sys; print(sys.version.split()[0])']) ?? 'unknown',
    wrk: wrkVersion,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryBytes: totalmem(),
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    commit: tryRun('git', ['rev-parse', 'HEAD']),
    dirty: status === null ? null : status.length > 0,
  };
}
