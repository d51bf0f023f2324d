/**
 * matplotlib's font list, made once per dependency site ([ADR 0108](../../docs/adr/0108-font-list-made-at-build.md);
 * docs/dependencies.md, "Caches made at build"). Without it each cold start of a function importing
 * matplotlib scanned every font again (its `/tmp`, `HOME`, is new each time): 0.3-1 s of the import.
 *
 * After a build installed a site with matplotlib in it, `deps_build.py --fonts` runs in a box of its
 * own: the site read-only at /deps, an empty folder of this build at /run/fp-build its only writable place
 * (with its /tmp), no network, the builder's uid and limits, a time limit. What it leaves at
 * /run/fp-build/mpl/fontlist-v<version>.json is taken only as a regular file (never a link) of at most
 * FONT_LIST_MAX_BYTES that parses as matplotlib's font list, and written into the site
 * (`.fp-cache/matplotlib/`) before the site is published read-only. Any failure leaves the site
 * without it, as before: the build stands either way.
 */
import { spawn } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { OUT_OF_FILES_MESSAGE, spawnedWithoutFds } from '../../protocol/index.js';

export const FONT_LIST_MAX_BYTES = 4 * 1024 * 1024;
/** Where the site keeps it, and where the runtime looks (fp_runtime/specialize.py, `seed_caches`). */
export const FONT_CACHE_DIR = '.fp-cache/matplotlib';
export const FONTS_TIMEOUT_MS = 120_000;
const NAME = /^fontlist-v[0-9A-Za-z._-]{1,32}\.json$/;

/** Whether the site installs matplotlib (its font manager, the module that makes the list). */
export function wantsFontList(site: string): boolean {
  return existsSync(join(site, 'matplotlib', 'font_manager.py'));
}

export interface BoxedRun {
  pythonPath: string;
  args: string[];
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Runs the font box to its end (killed past its time limit or on abort); its output goes to `note`. */
export function runFontBox(run: BoxedRun, note: (text: string) => void): Promise<void> {
  return new Promise((resolve) => {
    // fd 3 as in a build: the box keeps it open through its start (runtime/deps_build.py); nothing is said on it.
    const child = spawn(run.pythonPath, run.args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: run.env });
    if (spawnedWithoutFds(child)) {
      note(`could not start ${run.pythonPath}: ${OUT_OF_FILES_MESSAGE}\n`); // no font list, as for any failed start
      resolve();
      return;
    }
    (child.stdio[3] as Readable).on('error', () => undefined).resume();
    const kill = (): void => {
      child.kill('SIGKILL'); // the keeper: the whole box goes with it
    };
    const timer = setTimeout(() => {
      note(`matplotlib's font list: not made within ${Math.round(run.timeoutMs / 1000)} s\n`);
      kill();
    }, run.timeoutMs);
    run.signal?.addEventListener('abort', kill, { once: true });
    (child.stdout as Readable).setEncoding('utf8').on('data', note);
    (child.stderr as Readable).setEncoding('utf8').on('data', note);
    child.on('error', (err) => note(`could not start ${run.pythonPath}: ${err.message}\n`));
    child.on('close', () => {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', kill);
      resolve();
    });
  });
}

/**
 * Takes the font list the box left in `out`/mpl into the site, checked; returns the fonts it lists
 * (0 when there was none fit to take).
 */
export async function adoptFontList(out: string, site: string): Promise<number> {
  // `mpl` is the box's to make: a link there would have the host list a folder of its own choosing.
  const dir = join(out, 'mpl');
  const st = await lstat(dir).catch(() => null);
  if (st === null || !st.isDirectory()) return 0;
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => NAME.test(n)).sort();
  for (const name of names) {
    const text = await readRegularFile(join(dir, name), FONT_LIST_MAX_BYTES);
    if (text === null) continue;
    const fonts = fontCount(text);
    if (fonts === 0) continue;
    await mkdir(join(site, FONT_CACHE_DIR), { recursive: true });
    await writeFile(join(site, FONT_CACHE_DIR, name), text);
    return fonts;
  }
  return 0;
}

/** A regular file's text (never through a link: O_NOFOLLOW), or null when it is not one or is larger than `max`. */
async function readRegularFile(path: string, max: number): Promise<string | null> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (handle === null) return null;
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > max) return null;
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await handle.read(buf, 0, st.size, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The fonts a matplotlib font list names (`ttflist` and `afmlist` of entries with a string `fname`), 0 when it is not one. */
export function fontCount(text: string): number {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 0;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 0;
  const { _version: version, ttflist, afmlist } = doc as Record<string, unknown>;
  if (typeof version !== 'string' || !Array.isArray(ttflist) || !Array.isArray(afmlist)) return 0;
  const entries = [...ttflist, ...afmlist] as unknown[];
  const fit = entries.every((e) => typeof e === 'object' && e !== null && typeof (e as Record<string, unknown>)['fname'] === 'string');
  return fit ? entries.length : 0;
}
