/** Cron e2e helpers: a function that appends each tick it runs for to a file, and that file read back. */
import { existsSync, readFileSync } from 'node:fs';
import type { Api, ApiAnswer } from './platform-harness.js';
import { createFunction, filesOf, py } from './platform-harness.js';

/** Writes `<x-fp-cron-tick> <body>` per run to `$OUT`. */
export const TICK_WRITER = {
  'main.py': py(
    'import os',
    'def handler(event, context):',
    '    tick = event["headers"].get("x-fp-cron-tick")',
    '    with open(os.environ["OUT"], "a") as f: f.write(f"{tick} {event[\'body\'].decode()}\\n")',
    '    return {"tick": tick}',
  ),
};

export function cronManifest(name: string, triggers: unknown[]): Record<string, unknown> {
  return { kind: 'function', name, triggers };
}

/** Creates the function (env OUT = `out`) and uploads a version with `triggers`; the upload's answer. */
export async function uploadCron(api: Api, name: string, out: string, triggers: unknown[]): Promise<ApiAnswer> {
  await createFunction(api, name, { env: { OUT: out } });
  return api.call('POST', `/functions/${name}/versions`, { files: filesOf(TICK_WRITER), manifest: cronManifest(name, triggers) });
}

/** The lines written so far: `[tick, body]`. */
export function ticksIn(out: string): [string, string][] {
  if (!existsSync(out)) return [];
  return readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
    const at = l.indexOf(' ');
    return [l.slice(0, at), l.slice(at + 1)];
  });
}

/** How many times each tick ran. */
export function countByTick(out: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [tick] of ticksIn(out)) counts.set(tick, (counts.get(tick) ?? 0) + 1);
  return counts;
}
