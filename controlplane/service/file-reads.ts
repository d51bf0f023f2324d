/**
 * File contents the API is reading into answers at once (`GET …/versions/:n/file`: a version's
 * file, up to 10 MiB, read whole and answered as JSON text or base64), bounded per process (red
 * team round 5 of 2026-12-05). Each such answer costs about four times the file while it is built
 * (the content, its base64 or text, the JSON, the bytes written), and nothing bounded how many
 * were built at once: 600 requests for one 10 MiB file of the tenant's own, sent without reading
 * the answers, took the platform from 76 MiB to 6.4 GiB (and 120 to 1.6 GiB), growing with the
 * requests, until the kernel's OOM killer would take it. Once written, an answer waiting for its
 * client counts in the gateway's held-response budget (docs/gateway.md, "Slow clients").
 *
 * Past `maxBytes` of contents, all workspaces together, a read is refused (503
 * FILE_READS_BUSY); a workspace holds at most a quarter of it, so one tenant's reads never refuse
 * another's. A read alone (nothing else held, or nothing else of its workspace within the total)
 * is always taken, whatever its size.
 */
import { PlatformError } from '../../protocol/index.js';

/** Contents being read into answers at once, per process (default): six 10 MiB files. */
export const DEFAULT_MAX_FILE_READ_BYTES = 64 * 1024 * 1024;

export class FileReads {
  private held = 0;
  private readonly heldOf = new Map<string, number>();

  constructor(readonly maxBytes: number = DEFAULT_MAX_FILE_READ_BYTES) {}

  /** Runs `read` holding `bytes` for `workspace`, or throws FILE_READS_BUSY (nothing run). */
  async with<T>(workspace: string, bytes: number, read: () => Promise<T>): Promise<T> {
    const own = this.heldOf.get(workspace) ?? 0;
    const share = this.maxBytes / 4;
    if ((own > 0 && own + bytes > share) || (this.held > 0 && this.held + bytes > this.maxBytes)) {
      throw new PlatformError('FILE_READS_BUSY', own > 0 && own + bytes > share
        ? `workspace "${workspace}" is reading as many files as it may at once; retry when an answer has arrived`
        : 'the platform is reading as many files as it may at once; retry in a moment', { retryAfterS: 1 });
    }
    this.held += bytes;
    this.heldOf.set(workspace, own + bytes);
    try {
      return await read();
    } finally {
      this.held -= bytes;
      const left = (this.heldOf.get(workspace) ?? 0) - bytes;
      if (left > 0) this.heldOf.set(workspace, left);
      else this.heldOf.delete(workspace);
    }
  }
}
