/**
 * Section 10 (only with `--only fresh`: it takes minutes and installs packages): a fresh clone →
 * the first successful invoke by the README's first command. `git clone <repo>` into a temporary
 * folder, then `npm start -- --port 0 --json` there (it installs, builds, starts the platform,
 * deploys examples/hello and calls it), timed from the start of `npm start` to its first
 * `invoked` event with status 200. The clone's own credentials and secrets key live in the
 * temporary folder (FP_CONFIG_DIR); npm and pip use the machine's caches as they are (say how
 * warm they were when quoting the figure). With `--compare DIR`, DIR is cloned and timed too,
 * alternating which goes first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from './args.js';
import { EventProcess } from './events.js';
import { ROOT } from './paths.js';
import { childEnv } from './servers.js';
import { summarize, type Summary } from './stats.js';

export interface FreshCloneResult {
  runs: number;
  checkouts: { label: string; repo: string; commit: string; samples: number[]; summary: Summary }[];
}

async function once(repo: string): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'fresh-'));
  const clone = join(work, 'repo');
  execFileSync('git', ['clone', '--quiet', repo, clone]);
  const env = childEnv({ FP_CONFIG_DIR: join(work, 'config') });
  const t0 = performance.now();
  const start = new EventProcess('npm', ['start', '--', '--port', '0', '--json'], { cwd: clone, env });
  try {
    await start.next((e) => e.event === 'invoked' && e.status === 200, 30 * 60_000, true);
    return (performance.now() - t0) / 1000;
  } finally {
    await start.stop();
    await rm(work, { recursive: true, force: true });
  }
}

export async function freshClone(opts: BenchOptions): Promise<FreshCloneResult> {
  const repos = [{ label: 'this tree', repo: ROOT }, ...(opts.compare !== null ? [{ label: 'compare', repo: opts.compare }] : [])];
  const samples = repos.map(() => [] as number[]);
  for (let i = 0; i < opts.freshRuns; i++) {
    const order = i % 2 === 0 ? repos.map((_, k) => k) : repos.map((_, k) => repos.length - 1 - k);
    for (const k of order) {
      const seconds = await once(repos[k]!.repo);
      console.error(`  fresh clone of ${repos[k]!.label}: first invoke after ${seconds.toFixed(1)} s`);
      samples[k]!.push(seconds);
    }
  }
  return {
    runs: opts.freshRuns,
    checkouts: repos.map((r, k) => ({
      ...r,
      commit: execFileSync('git', ['-C', r.repo, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
      samples: samples[k]!,
      summary: summarize(samples[k]!),
    })),
  };
}
