/**
 * A function version's code as one `code` frame for a runtime in a Pod (runtime/fp_runtime/remote.py):
 * every regular file under the version's directory, with its path and whether it is executable.
 * Versions never change once deployed, so a frame is built once per directory and kept (a few,
 * bounded by total size); `__pycache__` stays behind (the Pod's Python compiles for itself).
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFrame, PlatformError } from '../../../protocol/index.js';

const CACHE_BYTES = 256 * 1024 * 1024;

export class CodeFrames {
  private readonly cache = new Map<string, Buffer>();
  private cachedBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The frame for `dir` as the pool names it; `realDir` is its real path, already checked to be under a code root. */
  frame(dir: string, realDir: string): Buffer {
    const hit = this.cache.get(dir);
    if (hit !== undefined) {
      this.cache.delete(dir);
      this.cache.set(dir, hit); // most recently used last
      return hit;
    }
    const files: [string, Buffer, number][] = [];
    let total = 0;
    const walk = (abs: string, rel: string): void => {
      for (const entry of readdirSync(abs, { withFileTypes: true })) {
        if (entry.name === '__pycache__') continue;
        const path = join(abs, entry.name);
        const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (entry.isDirectory()) walk(path, relPath);
        else if (entry.isFile()) {
          const data = readFileSync(path);
          total += data.length;
          if (total > this.maxBytes) throw new PlatformError('RUNTIME_UNAVAILABLE', `the function's code is over ${this.maxBytes} bytes, more than a Pod takes`);
          files.push([relPath, data, lstatSync(path).mode & 0o777]);
        }
      }
    };
    walk(realDir, '');
    const frame = encodeFrame({ t: 'code', id: 0, dir, files });
    this.cache.set(dir, frame);
    this.cachedBytes += frame.length;
    for (const [key, old] of this.cache) {
      if (this.cachedBytes <= CACHE_BYTES || key === dir) break;
      this.cache.delete(key);
      this.cachedBytes -= old.length;
    }
    return frame;
  }
}
