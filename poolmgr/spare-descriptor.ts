/**
 * The spare descriptor (red team round 50; ADR 0216).
 */
import { closeSync, openSync } from 'node:fs';

/**
 * One descriptor held back for what the platform must do at its open-files limit (red team round 50):
 * there every descriptor freed is taken at once by the gateway's next accept, and reading /proc
 * takes one, so the guard of the platform's descriptors (poolmgr/platform-connections.ts) could not
 * read, and a kill could not check the pid's start time (/proc/<pid>/stat) and signalled nothing:
 * no timeout, no guard could end an instance. Given back for such synchronous work (no accept runs
 * meanwhile; one file open at a time) and taken again after it.
 */
let spare: number | null = null;

/** Holds the spare descriptor if it is not held (at the pool's start; again after each use). */
export function holdSpareDescriptor(): void {
  if (spare !== null) return;
  try {
    spare = openSync('/dev/null', 'r');
  } catch {
    // none to hold now: the next check tries again
  }
}

/** Whether the spare descriptor is held now (it counts among the process's open ones). */
export function holdsSpareDescriptor(): boolean {
  return spare !== null;
}

/** Runs `read` (synchronous, one descriptor open at a time) with the spare descriptor given back. */
export function withSpareDescriptor<T>(read: () => T): T {
  if (spare !== null) {
    closeSync(spare);
    spare = null;
  }
  try {
    return read();
  } finally {
    holdSpareDescriptor();
  }
}
