/**
 * Responses that go out before their call ends (docs/gateway.md, "Streamed responses"): a
 * function's streamed body piped to the client under backpressure, and the same result made whole
 * for callers that need the whole body (the control plane's test invoke, async runs).
 */
import { describeBytes, MAX_FRAME_BYTES, type ResponseStream, type StreamSink } from '../protocol/index.js';
import type { BodyReader } from '../poolmgr/index.js';
import type { InvocationResult } from './pool.js';

/**
 * The body as a ResponseStream (uws-adapter rule 9): each piece as the runtime sends it (the
 * first ones leave with the head). A piece is acknowledged to the runtime (which may then send as much more) only
 * once the client's connection took it: a slow reader stops the app, never grows this process.
 * The client leaving cancels the call's stream (its app gets `http.disconnect`).
 */
export function streamBody(body: BodyReader): ResponseStream {
  return {
    holdsCall: true,
    start(sink: StreamSink): void {
      sink.closed.addEventListener('abort', () => body.cancel(), { once: true });
      let held = 0;
      const drained = (): void => {
        const bytes = held;
        held = 0;
        body.ack(bytes);
        body.resume();
      };
      body.pipe({
        chunk(data) {
          if (sink.write(data)) {
            body.ack(data.byteLength);
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
 * The result with its whole body and its end: for callers that cannot take a stream. A body over
 * the frame limit (what a buffered response may carry) is cut off: the call is cancelled and the
 * result fails with FUNCTION_BAD_RESPONSE.
 */
export async function wholeResult(result: InvocationResult): Promise<InvocationResult> {
  if (result.after === undefined || result.response === null) return result;
  let body: Uint8Array = result.response.body;
  let tooLarge = false;
  if (result.body !== undefined) {
    const reader = result.body;
    const pieces: Uint8Array[] = [];
    let size = 0;
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
          pieces.push(data);
          reader.ack(data.byteLength);
          return true;
        },
        end: resolve,
        abort: resolve,
      });
    });
    body = Buffer.concat(pieces);
  }
  const end = await result.after;
  const out: InvocationResult = { ...result, handlerMs: end.handlerMs, logs: end.logs, response: { ...result.response, body } };
  delete out.body;
  delete out.after;
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
