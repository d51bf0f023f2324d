/**
 * Function folders for the gateway's functions directory: `<name>/main.py` (the benchmark's
 * trivial handler, bench/fixtures/hello/main.py) and `<name>/platform.yaml`.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { HELLO_FIXTURE } from './paths.js';

export interface Limits {
  maxInstances?: number;
  concurrency?: number;
  maxQueue?: number;
  minWarm?: number;
  timeout?: string;
}

/** Writes `<parent>/<name>/` with the hello handler; `salt` makes the content (so the version) unique. */
export async function writeHelloFunction(parent: string, name: string, limits: Limits = {}, salt?: string): Promise<string> {
  const dir = join(parent, name);
  await mkdir(dir, { recursive: true });
  await copyFile(HELLO_FIXTURE, join(dir, 'main.py'));
  if (salt !== undefined) await writeFile(join(dir, 'salt.txt'), `${salt}\n`);
  const manifest = { kind: 'function', name, entrypoint: 'main:handler', limits };
  await writeFile(join(dir, 'platform.yaml'), stringify(manifest));
  return dir;
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `fp-bench-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
