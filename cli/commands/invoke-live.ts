/**
 * `invoke`'s body as it arrives: a streamed answer (Server-Sent Events, a FastAPI
 * `StreamingResponse`: no Content-Length) is printed piece by piece, and `-o FILE` is written as the
 * body comes, instead of both waiting for the end. Whatever is not streamed is shown whole after
 * the end, as before (JSON indented, a large body cut on a terminal, binary as its size).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { HttpHead } from '../http.js';
import type { Context } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { terminalSafe } from '../terminal.js';

/**
 * True for an answer whose body is printed as it comes: `text/event-stream`, or text of unknown
 * length (chunked) that is not JSON (JSON is indented, which needs the whole document). Binary
 * stays buffered: it is not printed on a terminal, and is shown as its size when piped.
 */
export function isLiveText(head: HttpHead): boolean {
  const type = (head.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('text/event-stream')) return true;
  if (head.header('content-length') !== null || /\bjson\b/.test(type)) return false;
  return type.startsWith('text/') || /json|xml|javascript|charset=/.test(type);
}

/**
 * Text as a terminal may show it, piece by piece: control characters escaped as `invoke` escapes
 * a whole body (line breaks and tabs kept, `\r\n` ends a line). Keeps a UTF-8 sequence or a `\r`
 * cut at a piece's end for the next piece, so a split never shows as an escape.
 */
export class SafeTextStream {
  private readonly decoder = new StringDecoder('utf8');
  private pendingCr = false;

  constructor(private readonly tty: boolean) {}

  /** The next piece's text to print ('' when it all waits for the next piece). */
  push(chunk: Buffer): string {
    return this.shown(this.decoder.write(chunk), false);
  }

  /** What is left at the end. */
  end(): string {
    return this.shown(this.decoder.end(), true);
  }

  private shown(text: string, last: boolean): string {
    if (!this.tty) return text;
    let t = (this.pendingCr ? '\r' : '') + text;
    this.pendingCr = !last && t.endsWith('\r');
    if (this.pendingCr) t = t.slice(0, -1);
    return t.split(/\r?\n/).map((line) => line.split('\t').map((part) => terminalSafe(part, Number.MAX_SAFE_INTEGER)).join('\t')).join('\n');
  }
}

/**
 * The live handling of one call's body: `output` (-o FILE, a path) is written as the body comes;
 * else a streamed text answer is printed as it comes (not with --json: one document, after the
 * end). `beforeBody` runs once before the first piece is printed (the `-i` headers).
 */
export class LiveBody {
  private fd: number | null = null;
  private text: SafeTextStream | null = null;
  private fileError: Error | null = null;
  /** True once the body is being printed as it comes (the caller prints nothing of it after). */
  printed = false;

  constructor(
    private readonly ctx: Context,
    private readonly output: string | undefined,
    private readonly beforeBody: (head: HttpHead) => void,
  ) {}

  /** For `HttpRequest.onHead`. */
  readonly onHead = (head: HttpHead): ((chunk: Buffer) => void) | undefined => {
    if (this.output !== undefined) {
      // Not thrown from here: the HTTP client would take it for a failed connection.
      let fd: number;
      try {
        fd = openSync(this.output, 'w');
      } catch (err) {
        this.fileError = err as Error;
        return () => undefined;
      }
      this.fd = fd;
      return (chunk) => {
        if (this.fileError !== null) return;
        try {
          writeSync(fd, chunk);
        } catch (err) {
          this.fileError = err as Error; // a full disk: said after the call
        }
      };
    }
    if (this.ctx.out.json || !isLiveText(head)) return undefined;
    this.printed = true;
    this.beforeBody(head);
    const stream = new SafeTextStream(this.ctx.io.stdoutIsTTY === true);
    this.text = stream;
    return (chunk) => {
      const shown = stream.push(chunk);
      if (shown.length > 0) this.ctx.io.stdout(shown);
    };
  };

  /** Ends the printing (the closing line break, as `out.line(body)` writes a buffered one) and closes the -o file. */
  finish(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    if (this.text !== null) this.ctx.io.stdout(`${this.text.end()}\n`);
    this.text = null;
    if (this.fileError !== null) throw new CliError(EXIT.FAILURE, 'OUTPUT_FAILED', `cannot write --output ${this.output}: ${this.fileError.message}`);
  }
}
