/**
 * Section 3c, templates (docs/adr/0030-function-templates.md): the scale-out of a function whose
 * import takes 400 ms, forked from its template vs specialized on a generic runtime from the pool,
 * side by side, the two arms interleaved one for one.
 *
 * Each arm is a PoolManager holding one instance busy for the whole run (so the version never
 * scales to zero and every measured call needs a new instance). A sample is the wall time of one
 * call that finds every instance busy: template arm, the host forks the instance from the
 * version's template; generic arm (templates off), a generic runtime from the refilled pool
 * specializes and imports the module. The new instance exits right after answering (a timer in
 * the handler, 0.3 s later), so the next sample scales out again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultPoolConfig, PoolManager, type FunctionVersion, type InvocationResult } from '../poolmgr/index.js';
import type { WireEvent } from '../protocol/index.js';
import type { BenchOptions } from './args.js';
import type { ColdSeries } from './cold.js';
import { tempDir } from './functions.js';
import { PYTHON } from './paths.js';
import { sleep } from './servers.js';
import { msSince, summarize } from './stats.js';

const SLOW_IMPORT = [
  'import os, threading, time',
  'time.sleep(0.4)  # heavy module-level init',
  'def handler(event, context):',
  '    q = dict(event["query"])',
  '    if "hold" in q: time.sleep(float(q["hold"]))',
  '    if "die" in q: threading.Timer(0.3, os._exit, (0,)).start()  # after the reply is out',
  '    return {"ok": True}',
  '',
].join('\n');

export interface TemplateCold {
  mode: string;
  template: ColdSeries;
  generic: ColdSeries;
  /** Template-arm samples that were not forked from the template (should be 0). */
  notForked: number;
}

function series(samples: number[]): ColdSeries {
  return { samples: samples.map((s) => Math.round(s * 1000) / 1000), summary: summarize(samples) };
}

function event(query: [string, string][]): WireEvent {
  return { method: 'GET', path: '/', rawQuery: new URLSearchParams(query).toString(), query, headers: [], body: new Uint8Array(0), requestId: 'bench-template' };
}

async function until(check: () => boolean, ms = 30_000, what = ""): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export async function templateCold(opts: Pick<BenchOptions, 'coldN'>): Promise<TemplateCold> {
  const dir = await tempDir('template');
  const code = join(dir.path, 'fn'); // under the code root (a version's directory is never the root itself)
  await mkdir(code);
  await writeFile(join(code, 'main.py'), SLOW_IMPORT);
  const fn: FunctionVersion = {
    name: `tpl-${Math.random().toString(36).slice(2, 8)}`, version: 'v1', dir: code, entrypoint: 'main:handler', env: {},
    memoryBytes: 0, timeoutMs: 0, concurrency: 1, maxInstances: 4, minWarm: 0, maxQueue: 100,
  };
  const pool = (templateMinInitMs: number): PoolManager => new PoolManager(defaultPoolConfig({
    codeRoots: [dir.path], pythonPath: PYTHON, poolSize: 1, templateMinInitMs,
  }));
  const arms = { template: pool(50), generic: pool(0) };
  const holds: Promise<InvocationResult>[] = [];
  try {
    for (const p of Object.values(arms)) {
      await p.start();
      holds.push(p.invoke(fn, event([['hold', '3600']])));
      await until(() => (p.stats().functions[`${fn.name}@v1`]?.busy ?? 0) === 1, 30_000, 'the held call');
    }
    await until(() => arms.template.stats().functions[`${fn.name}@v1`]?.template === 'ready', 30_000, 'the template');
    const samples = { template: [] as number[], generic: [] as number[] };
    let notForked = 0;
    for (let i = -2; i < opts.coldN; i++) {
      for (const [name, p] of Object.entries(arms) as [keyof typeof arms, PoolManager][]) {
        // Back to one busy instance, and (generic arm) a refilled pool, before each sample.
        await until(() => p.stats().functions[`${fn.name}@v1`]?.warm === 1 && p.stats().specializing === 0 && (name === 'template' || p.stats().generic >= 1), 30_000, `${name} arm back to one busy instance: ${JSON.stringify(p.stats())}`);
        await sleep(30);
        const start = process.hrtime.bigint();
        const result = await p.invoke(fn, event([['die', '1']]));
        const ms = msSince(start);
        if (result.error !== null) throw new Error(`${name} arm: ${result.error.code}: ${result.error.message}`);
        if (i < 0) continue;
        samples[name].push(ms);
        if (name === 'template' && result.start !== 'template') notForked++;
      }
    }
    return { mode: arms.template.isolation.mode, template: series(samples.template), generic: series(samples.generic), notForked };
  } finally {
    await Promise.all(Object.values(arms).map((p) => p.close()));
    await Promise.allSettled(holds);
    await dir.remove();
  }
}
