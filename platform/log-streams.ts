/**
 * A log line that cannot be written never stops the platform (reliability round 7). With its
 * output sent to a file (`node dist/platform/main.js >> platform.log 2>&1`, systemd's
 * `StandardOutput=append:`) on a disk that filled up, the next line (a function's output outside a
 * call, the SIGTERM notice) made Node throw ENOSPC from the write: the process exited 1 and every
 * warm call, async run and WebSocket with it; a restart died at its banner. A closed pipe (EPIPE)
 * did the same. Now such lines are dropped and counted; every 5 s the count is written again
 * (`warning: N writes to stderr failed`), and once that line goes through the count starts over.
 */
import { formatLogLine, type LogFormat } from './log-format.js';

const REPORT_MS = 5_000;
let installed = false;

/** Installs the guard on stdout and stderr, once per process (later calls do nothing). */
export function survivingLogStreams(format: LogFormat): void {
  if (installed) return;
  installed = true;
  guard('stdout', process.stdout, format);
  guard('stderr', process.stderr, format);
}

function guard(name: string, stream: NodeJS.WriteStream, format: LogFormat): void {
  let lost = 0;
  let why = '';
  let timer: NodeJS.Timeout | null = null;
  const report = (): void => {
    timer = null;
    const counted = lost;
    const line = formatLogLine(format, `platform: warning: ${counted} writes to ${name} failed (${why}) and were dropped; the platform goes on serving`);
    stream.write(`${line}\n`, (err) => {
      if (err === null || err === undefined) lost -= counted;
    });
  };
  stream.on('error', (err: NodeJS.ErrnoException) => {
    lost++;
    why = err.code ?? err.message;
    if (timer === null) {
      timer = setTimeout(report, REPORT_MS);
      timer.unref();
    }
  });
}
