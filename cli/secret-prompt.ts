/**
 * A value typed on the terminal without echo, as a password prompt reads it (`env set <fn> NAME`
 * on a TTY): raw mode, so the terminal shows nothing of it; Enter (or Ctrl-D) ends it, backspace
 * and Ctrl-U edit it, Ctrl-C interrupts. The terminal's mode is restored before anything else.
 */

/** What readHidden needs of stdin (a tty.ReadStream; a fake in tests). */
export interface HiddenInput {
  setRawMode(on: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/**
 * Shows `prompt` (on `write`: stderr), reads one line without echo and resolves with it; on Ctrl-C
 * calls `interrupt` (the process: SIGINT, as outside raw mode) and resolves null.
 */
export function readHidden(input: HiddenInput, write: (text: string) => void, prompt: string, interrupt: () => void): Promise<string | null> {
  write(prompt);
  return new Promise((resolvePromise) => {
    let value = '';
    const done = (result: string | null): void => {
      input.removeListener('data', onData);
      input.setRawMode(false);
      input.pause();
      write('\n');
      resolvePromise(result);
      if (result === null) interrupt();
    };
    const onData = (chunk: Buffer | string): void => {
      for (const c of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (c === '\r' || c === '\n' || c === '\x04') return done(value);
        if (c === '\x03') return done(null);
        if (c === '\x7f' || c === '\b') value = [...value].slice(0, -1).join('');
        else if (c === '\x15') value = '';
        else if (c >= ' ' || c === '\t') value += c;
      }
    };
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}
