/**
 * Whether this process is out of file descriptors, for /readyz (chaos round 8): it answered 503
 * `no_runtimes` then (no generic runtime could be spawned) although warm instances still served.
 * The probe opens /dev/null and closes it at once: one descriptor for two system calls, taken only
 * while a /readyz is answered; EMFILE or ENFILE is the answer, anything else says nothing.
 */
import { closeSync, openSync } from 'node:fs';
import { isOutOfFiles, type ReadinessProblem } from '../protocol/index.js';

const PROBLEM: ReadinessProblem = Object.freeze({
  code: 'PLATFORM_FILE_LIMIT',
  degraded: true,
  message: 'the platform has no file descriptor left (too many connections or open files): calls that need a new instance, uploads and new connections fail until descriptors are freed, warm instances still serve on open connections (operators: raise the open-files limit, ulimit -n)',
});

/** The PLATFORM_FILE_LIMIT problem while this process can open no file, else null. */
export function fileLimitProblem(): ReadinessProblem | null {
  try {
    closeSync(openSync('/dev/null', 'r'));
    return null;
  } catch (err) {
    return isOutOfFiles(err) ? PROBLEM : null;
  }
}
