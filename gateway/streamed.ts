/**
 * Responses that go out before their call ends (docs/gateway.md, "Streamed responses"): a
 * function's streamed body piped to the client under backpressure, and the same result made whole
 * for callers that need the whole body (the control plane's test invoke, async runs).
 */
import { boundResultHeaders, describeBytes, MAX_FRAME_BYTES, RESULT_HEADERS_OMITTED_HEADER, RESULT_OMITTED_HEADER, type Pairs, type ResponseStream, type StreamSink } from '../protocol/index.js';
import type { BodyReader } from '../poolmgr/index.js';
import type { Holder } from './holder.js';
import type { InvocationResult } from './pool.js';

/**
 * The body as a ResponseStream (uws-adapter rule 9): each piece as the runtime sends it (the
 * first ones leave with the head). A piece is acknowledged to the runtime (which may then send as much more) only
 * once the client's connection took it: a slow reader stops the app, never grows this process.
 * The client leaving cancels the call's stream (its app gets `http.disconnect`). With a `holder`,
 * the answer is cut, and its stream cancelled, at the first piece after the call's token (or its
 * public function's lack of one) stopped admitting it: revoked, rotated, expired (./holder.ts).
 */
export function streamBody(body: BodyReader, holder: Holder | null = null): ResponseStream {
  return {
    holdsCall: true,
    start(sink: StreamSink): void {
      sink.closed.addEventListener('abort', () => body.cancel(), { once: true });
      // Acknowledged once written (a writer that holds small chunks for its turn's end says when), never before.
      const deferred = sink.onTaken !== undefined;
      sink.onTaken?.((bytes) => body.ack(bytes));
      let held = 0;
      const drained = (): void => {
        const bytes = held;
        held = 0;
        body.ack(bytes);
        body.resume();
      };
      body.pipe({
        chunk(data) {
          if (holder !== null && !holder()) {
            body.cancel();
            sink.abort();
            return false;
          }
          if (sink.write(data)) {
            if (!deferred) body.ack(data.byteLength);
            return true;
          }
          held += data.byteLength;
          sink.onDrain(drained);
          return false;
        },
        end: () => sink.end(),
        abort: () => sink.abort(),
      });
    },
    cancel(): void {
      body.cancel();
    },
  };
}

/**
 * A result made whole (wholeResult), with the headers the platform says about it
 * (`x-fp-result-omitted`, `x-fp-result-headers-omitted`): `finish` (invoke.ts) appends them after
 * the function's own headers were checked, which drops any `x-fp-*` of the function's (ADR 0244).
 */
export type WholeResult = InvocationResult & { marks?: Pairs };

/**
 * The result with its whole body and its end: for callers that cannot take a stream. A body over
 * the frame limit (what a buffered response may carry) is cut off: the call is cancelled and the
 * result fails with FUNCTION_BAD_RESPONSE. A body over `keepBytes` (a caller that shows it, not
 * stores it whole: the test invoke) is read to its end but not kept: the result has no body and
 * its size in `x-fp-result-omitted` (red team 10: a test invoke held each 60 MiB answer several
 * times over, base64 and JSON, ~130 MB of the platform's memory a call, as many at once as the
 * function's instances allow).
 */
export async function wholeResult(result: InvocationResult, keepBytes: number = MAX_FRAME_BYTES): Promise<WholeResult> {
  return withBoundHeaders(await whole(result, keepBytes));
}

/** Its headers within MAX_RESULT_HEADER_BYTES: what is kept or shown of a result is bounded whole, not only its body. */
function withBoundHeaders(result: WholeResult): WholeResult {
  const response = result.response;
  if (response === null) return result;
  const { headers, dropped } = boundResultHeaders(response.headers);
  if (dropped === 0) return result;
  return { ...result, response: { ...response, headers }, marks: [...result.marks ?? [], [RESULT_HEADERS_OMITTED_HEADER, String(dropped)]] };
}

async function whole(result: InvocationResult, keepBytes: number): Promise<WholeResult> {
  if (result.response === null) return result;
  if (result.after === undefined) return result.response.body.byteLength > keepBytes ? omitted(result, result.response.body.byteLength) : result;
  let body: Uint8Array = result.response.body;
  let tooLarge = false;
  let size = body.byteLength;
  if (result.body !== undefined) {
    const reader = result.body;
    const pieces: Uint8Array[] = [];
    await new Promise<void>((resolve) => {
      reader.pipe({
        chunk(data) {
          size += data.byteLength;
          if (size > MAX_FRAME_BYTES) {
            tooLarge = true;
            reader.cancel();
            resolve();
            return false;
          }
          // Past `keepBytes` nothing more is kept, and what was is let go: only the size is.
          if (size <= keepBytes) pieces.push(Buffer.from(data)); // a copy: `data` is reused after this returns (BodyConsumer)
          else pieces.length = 0;
          reader.ack(data.byteLength);
          return true;
        },
        end: resolve,
        abort: resolve,
      });
    });
    body = size > keepBytes ? new Uint8Array(0) : Buffer.concat([body, ...pieces]);
  }
  const end = await result.after;
  const out: WholeResult = { ...result, handlerMs: end.handlerMs, logs: end.logs, response: { ...result.response, body } };
  delete out.body;
  delete out.after;
  if (!tooLarge && size > keepBytes) out.marks = omittedMarks(size);
  if (tooLarge) {
    out.response = null;
    out.error = { code: 'FUNCTION_BAD_RESPONSE', class: 'bad_return', type: 'BadResponse', message: `the streamed response is larger than ${describeBytes(MAX_FRAME_BYTES)}` };
  } else if (end.error !== null) {
    // A body cut short is not a response; an error after a complete body (a background task) is kept for the record only.
    if (result.body !== undefined && !result.body.done) out.response = null;
    out.error = end.error;
  }
  return out;
}

/** The result without its body, its size in `x-fp-result-omitted` (protocol/run-result.ts), said after the function's headers are checked. */
function omitted(result: InvocationResult, size: number): WholeResult {
  return { ...result, response: { ...result.response!, body: new Uint8Array(0) }, marks: omittedMarks(size) };
}

function omittedMarks(size: number): Pairs {
  return [[RESULT_OMITTED_HEADER, String(size)]];
}
