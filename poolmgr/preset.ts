/**
 * Which runtime preset a function version starts on (docs/adr/0019-zygotes.md, "Preset choice").
 * `fastapi` when its entrypoint module imports fastapi (or starlette), or its requirements.txt
 * names fastapi, or it has a data binding (that preset's zygote has imported `context.db`'s pymongo
 * too, which the default one leaves out: docs/adr/0163-pymongo-in-the-fastapi-zygote.md); else `default`. Decided from the code, once per version (the files of a deployed
 * version never change), so nothing needs declaring and an app that stops importing FastAPI stops
 * getting the preset at its next deploy. A version whose dependency site ships the preset's packages
 * is started on the default preset by the host (its pinned versions must win: host/process-host.ts).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionSpec } from '../protocol/index.js';

export type Preset = 'default' | 'fastapi';

/** What decides a version's preset: its files, and whether it has a data binding (`dataDir`, FunctionSpec). */
export type PresetInput = Pick<FunctionSpec, 'dir' | 'entrypoint'> & { readonly dataDir?: string | undefined; readonly bound?: boolean };

const IMPORTS_FASTAPI = /^[ \t]*(?:from[ \t]+(?:fastapi|starlette)\b|import[ \t]+(?:fastapi|starlette)\b)/m;
const REQUIRES_FASTAPI = /^[ \t]*fastapi\b/im;
/** Bytes of a file read to decide: imports are at the top. */
const HEAD_BYTES = 64 * 1024;

/**
 * The preset of `fn` (reads at most a few small files; callers cache the answer per version). The
 * entry module is looked for at the top, then under `src/` (a src layout's `shop.api:app`, imported
 * from src: fp_runtime/specialize.py `src_layout`, apps round 12).
 */
export function presetOf(fn: PresetInput): Preset {
  if (fn.bound === true || fn.dataDir !== undefined) return 'fastapi';
  const parts = (fn.entrypoint.split(':')[0] ?? '').split('.');
  const bases = [join(fn.dir, ...parts), join(fn.dir, 'src', ...parts)];
  for (const path of bases.flatMap((base) => [`${base}.py`, join(base, '__init__.py')])) {
    const text = head(path);
    if (text !== null) {
      if (IMPORTS_FASTAPI.test(text)) return 'fastapi';
      break;
    }
  }
  const requirements = headIfThere(join(fn.dir, 'requirements.txt'));
  return requirements !== null && REQUIRES_FASTAPI.test(requirements) ? 'fastapi' : 'default';
}

/** Versions' presets decided at deploy (`PresetChoices`): at most this many kept, the oldest dropped first. */
export const PRESET_CHOICES_KEPT = 4096;

/**
 * The presets of versions decided when they were deployed (`PoolManager.expect`, called for every
 * version ensured), so that a version's first cold start, and its first after a scale to zero (the
 * reaper drops the version's group and the preset it held), takes its preset without reading the
 * version's files on the call path (bench/README.md, 3k). Keyed by directory and entrypoint: a
 * version's files never change once written, and a directory written again (a function deleted,
 * then made again with the same version number) is ensured again, which decides again. A version
 * not decided here (its deploy ran in another process, or it was dropped for room) is decided by
 * `presetOf` at its cold start, as before. Only the preset comes from here: a wrong one would cost
 * a FastAPI app its preloaded import, or a plain one memory, and gives no process anything more.
 */
export class PresetChoices {
  private readonly chosen = new Map<string, Preset>();

  constructor(private readonly kept = PRESET_CHOICES_KEPT) {}

  /** Decides the preset of the version at `dir` now (its deploy) and keeps it; returns it. */
  decide(fn: PresetInput): Preset {
    const key = keyOf(fn);
    const preset = presetOf(fn);
    this.chosen.delete(key); // kept last: the oldest decided is dropped first
    this.chosen.set(key, preset);
    if (this.chosen.size > this.kept) this.chosen.delete(this.chosen.keys().next().value as string);
    return preset;
  }

  /** The preset decided at the version's deploy, or decided now from its files. */
  of(fn: PresetInput): Preset {
    return this.chosen.get(keyOf(fn)) ?? presetOf(fn);
  }

  get size(): number {
    return this.chosen.size;
  }
}

function keyOf(fn: Pick<FunctionSpec, 'dir' | 'entrypoint'>): string {
  return `${fn.dir}\0${fn.entrypoint}`;
}

/** Reused by every read (presetOf is synchronous: one read at a time). */
const headBuffer = Buffer.allocUnsafe(HEAD_BYTES);

/**
 * The first HEAD_BYTES of `path`, or null if it cannot be read (missing, a directory). Only the
 * head is read, into one buffer: this runs on a version's first cold start (bench/README.md, 3h).
 */
function head(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return headBuffer.toString('utf8', 0, readSync(fd, headBuffer, 0, HEAD_BYTES, 0));
  } catch { // a directory (EISDIR), a read error
    return null;
  } finally {
    closeSync(fd);
  }
}

/** `head` of a file most versions do not have: its absence found without an exception, whose stack costs more than the reads. */
function headIfThere(path: string): string | null {
  return statSync(path, { throwIfNoEntry: false }) === undefined ? null : head(path);
}
