/**
 * Section 8: `fastapi-platform dev`, save → the next call answering with the new code. One `dev
 * --json` process (its own platform, sandboxed as by default) serves a function folder; each
 * round writes a one-line change to main.py (the clock starts before the write), waits for dev's
 * `reloaded` event of that version, then calls the function and checks the answer carries the
 * new value. A pause between saves lets the pool refill, as between two saves of a person.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from './args.js';
import { EventProcess } from './events.js';
import { ROOT } from './paths.js';
import { childEnv, httpGet, sleep } from './servers.js';
import { summarize, type Summary } from './stats.js';

export interface DevLoopResult {
  saves: number;
  /** Write of main.py → the answer with the new value (ms). */
  saveToAnswer: { samples: number[]; summary: Summary };
  /** dev's own figure: the reload (preflight + deploy), from its `reloaded` event (ms). */
  reload: { samples: number[]; summary: Summary };
  /** The call after the event (a cold start of the new version) (ms). */
  call: { samples: number[]; summary: Summary };
  pauseMs: number;
}

const BIN = join(ROOT, 'bin', 'fastapi-platform.js');
const NAME = 'devbench';

function code(value: string): string {
  return `def handler(event, context):\n    return {"value": "${value}"}\n`;
}

export async function devLoop(opts: BenchOptions): Promise<DevLoopResult> {
  const work = await mkdtemp(join(tmpdir(), 'fp-bench-dev-'));
  const dir = join(work, NAME);
  await mkdir(dir);
  await writeFile(join(dir, 'platform.yaml'), `kind: function\nname: ${NAME}\nentrypoint: main:handler\n`);
  await writeFile(join(dir, 'main.py'), code('v0'));
  const dev = new EventProcess(process.execPath, [BIN, 'dev', dir, '--json', '--port', '0'], { env: childEnv({ FP_CONFIG_DIR: join(work, 'config') }) });
  const saveToAnswer: number[] = [];
  const reload: number[] = [];
  const call: number[] = [];
  try {
    const started = await dev.next((e) => e.event === 'started', 60_000, true);
    const port = Number(new URL(String(started.url)).port);
    await dev.next((e) => e.event === 'reloaded' && e.version === 1, 60_000, true);
    await httpGet(port, `/fn/${NAME}/`);
    for (let i = 1; i <= opts.devSaves; i++) {
      await sleep(opts.devPauseMs);
      const value = `v${i}`;
      // A save that dev saw half-written (truncated, not yet rewritten: a busy machine) is reported
      // `invalid` and reloaded once the rest lands: only a refusal ends the wait.
      const reloaded = dev.next((e) => (e.event === 'reloaded' && e.version === i + 1) || e.event === 'refused', 30_000);
      const t0 = performance.now();
      await writeFile(join(dir, 'main.py'), code(value));
      const event = await reloaded;
      if (event.event !== 'reloaded') throw new Error(`dev did not reload: ${JSON.stringify(event)}`);
      const t1 = performance.now();
      const answer = await httpGet(port, `/fn/${NAME}/`);
      const t2 = performance.now();
      if (!answer.body.includes(`"${value}"`)) throw new Error(`after the reload to version ${i + 1} the function answered ${answer.status} ${answer.body}`);
      saveToAnswer.push(t2 - t0);
      reload.push(Number(event.ms));
      call.push(t2 - t1);
    }
  } finally {
    await dev.stop();
    await rm(work, { recursive: true, force: true });
  }
  return {
    saves: saveToAnswer.length,
    saveToAnswer: { samples: saveToAnswer, summary: summarize(saveToAnswer) },
    reload: { samples: reload, summary: summarize(reload) },
    call: { samples: call, summary: summarize(call) },
    pauseMs: opts.devPauseMs,
  };
}
