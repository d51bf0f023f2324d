/**
 * The CLI's HTTP client, on `node:http`/`node:https`. Not the global `fetch`: Node 20 compiles
 * its bundled undici on the first fetch, which cost 170-250 ms of every command's start on the
 * reference machine (a first `node:http` request: 30-40 ms). Connections are kept alive between
 * the calls of one command; idle sockets do not keep the process running.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Aborts the request (the promise rejects with an AbortError). */
  signal?: AbortSignal;
  /**
   * Called when the answer's head arrives; the function it returns, if any, gets each piece of the
   * body as it arrives (`invoke` prints a stream as it comes). The answer still holds the whole body.
   */
  onHead?: (head: HttpHead) => ((chunk: Buffer) => void) | undefined;
  /** The most body bytes read; past it the request is cut and rejects with AnswerTooLarge (none: no bound). */
  maxBytes?: number;
}

/** An answer whose body passed `HttpRequest.maxBytes`: cut, never held whole. */
export class AnswerTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the answer was larger than ${maxBytes} bytes`);
  }
}

/** An answer's status and headers. Header names are lower-case; repeated headers joined with `, `. */
export class HttpHead {
  constructor(
    readonly status: number,
    private readonly raw: IncomingHttpHeaders,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /**
   * The header's value, or null. Repeated ones are joined with `, `, but Set-Cookie's with a line
   * break: a cookie's `Expires` holds a comma, so `, ` made one unreadable value of several cookies
   * (helper round, 2026-12-05); no cookie holds a line break.
   */
  header(name: string): string | null {
    const key = name.toLowerCase();
    const value = this.raw[key];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(key === 'set-cookie' ? '\n' : ', ') : value;
  }

  /** Every header, lower-case names. */
  headers(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of Object.keys(this.raw)) out[name] = this.header(name)!;
    return out;
  }
}

/** An answer, read whole. */
export class HttpAnswer extends HttpHead {
  constructor(status: number, raw: IncomingHttpHeaders, readonly body: Buffer) {
    super(status, raw);
  }

  text(): string {
    return this.body.toString('utf8');
  }
}

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** One request; rejects only when there is no answer (connection refused, reset, aborted, bad URL). */
export function send(url: string, req: HttpRequest): Promise<HttpAnswer> {
  return new Promise((resolvePromise, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      reject(new TypeError(`not an http(s) URL: ${url}`));
      return;
    }
    const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
    const headers: Record<string, string | number> = { ...req.headers };
    if (body !== undefined) headers['content-length'] = body.length;
    const options = { method: req.method, headers, agent: secure ? agents.https : agents.http, ...(req.signal ? { signal: req.signal } : {}) };
    const out = (secure ? httpsRequest : httpRequest)(target, options, (res) => {
      const chunks: Buffer[] = [];
      let onChunk: ((chunk: Buffer) => void) | undefined;
      try {
        onChunk = req.onHead?.(new HttpHead(res.statusCode ?? 0, res.headers));
      } catch (err) {
        res.destroy();
        reject(err as Error);
        return;
      }
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (req.maxBytes !== undefined && bytes > req.maxBytes) {
          res.destroy();
          reject(new AnswerTooLarge(req.maxBytes)); // settles first: the 'end' below no longer resolves
          return;
        }
        chunks.push(chunk);
        try {
          onChunk?.(chunk);
        } catch (err) {
          res.destroy();
          reject(err as Error); // settles first: the 'end' below no longer resolves
        }
      });
      res.on('end', () => resolvePromise(new HttpAnswer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))));
      res.on('error', reject);
    });
    out.on('error', reject);
    out.end(body);
  });
}
