/**
 * Which runtime preset a function version starts on (docs/adr/0019-zygotes.md, "Preset choice").
 * `fastapi` when its entrypoint module imports fastapi (or starlette), or its requirements.txt
 * names fastapi; else `default`. Decided from the code, once per version (the files of a deployed
 * version never change), so nothing needs declaring and an app that stops importing FastAPI stops
 * getting the preset at its next deploy. A version whose dependency site ships the preset's packages
 * is started on the default preset by the host (its pinned versions must win: host/process-host.ts).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionSpec } from '../protocol/index.js';

export type Preset = 'default' | 'fastapi';

const IMPORTS_FASTAPI = /^[ \t]*(?:from[ \t]+(?:fastapi|starlette)\b|import[ \t]+(?:fastapi|starlette)\b)/m;
const REQUIRES_FASTAPI = /^[ \t]*fastapi\b/im;
/** Bytes of a file read to decide: imports are at the top. */
const HEAD_BYTES = 64 * 1024;

/** The preset of `fn` (reads at most two small files; callers cache the answer per version). */
export function presetOf(fn: Pick<FunctionSpec, 'dir' | 'entrypoint'>): Preset {
  const module = fn.entrypoint.split(':')[0] ?? '';
  const base = join(fn.dir, ...module.split('.'));
  for (const path of [`${base}.py`, join(base, '__init__.py')]) {
    const text = head(path);
    if (text !== null) {
      if (IMPORTS_FASTAPI.test(text)) return 'fastapi';
      break;
    }
  }
  const requirements = headIfThere(join(fn.dir, 'requirements.txt'));
  return requirements !== null && REQUIRES_FASTAPI.test(requirements) ? 'fastapi' : 'default';
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
