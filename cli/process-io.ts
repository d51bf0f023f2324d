/**
 * The process's stdout and stderr for the CLI, surviving a reader that went away
 * (`fastapi-platform logs app -f | head -3`, `runs | head`): a write to a closed pipe fails with
 * EPIPE, which Node raises as an unhandled 'error' event — a stack trace instead of a quiet end.
 * Here a closed stream's later writes are dropped, and `closed` resolves so the commands that run
 * until stopped (`logs -f`, `dev`, `up`) stop as on Ctrl-C; a one-shot command (a deploy) still
 * finishes its work, with its output discarded, and exits with its own code.
 */
export interface ProcessOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves with `'EPIPE'` once stdout's reader is gone. */
  closed: Promise<string>;
}

export function processOutput(): ProcessOutput {
  let onClosed: (why: string) => void = () => undefined;
  const closed = new Promise<string>((resolvePromise) => { onClosed = resolvePromise; });
  const writer = (stream: NodeJS.WriteStream, isStdout: boolean): ((text: string) => void) => {
    let gone = false;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      gone = true;
      if (isStdout) onClosed('EPIPE');
    });
    return (text) => {
      if (!gone) stream.write(text);
    };
  };
  return { stdout: writer(process.stdout, true), stderr: writer(process.stderr, false), closed };
}
