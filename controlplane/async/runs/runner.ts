/**
 * The AttemptRunner of the platform: one attempt = one call through the gateway's in-process
 * invoke (trigger `async`, `cron` or `webhook`), the same request every time (the queued
 * envelope), under the run's own id (the handler's `requestId` on every attempt) with `attempt`
 * passed through (`context.attempt`). The attempt's response is kept as the run's output; its
 * record (logs, timings, error) is stored under the run id and attempt number.
 */
import { callFailed, DEFAULT_RESULT_BYTES_PER_WORKSPACE, httpStatus, isPlatformError, MAX_STORED_RESULT_BYTES, RESULT_MAX_BYTES_HEADER, RESULT_OMITTED_HEADER, retryAfterOf, workspaceOfKey, type Invoker, type Pairs } from '../../../protocol/index.js';
import { retryAfterMsOf, type AttemptJob, type AttemptOutcome, type AttemptRunner } from '../dispatcher/index.js';
import { decodeEnvelope } from './envelope.js';
import type { AsyncRunIndex } from './runs-sqlite.js';

/**
 * The largest result body kept with an async run by default (protocol/run-result.ts, 256 KiB; the
 * platform's FP_ASYNC_RESULT_MAX_BYTES, ADR 0236). A larger one is kept without its body, its size
 * in `x-fp-result-omitted`: each run's result is stored for the run retention (in Redis's memory
 * in production), and a public function's async route lets anyone make the platform store what it
 * answers (up to 63 MiB a call before; red team 3, docs/adr/0043-red-team-3-bounds.md).
 */
export { MAX_STORED_RESULT_BYTES, RESULT_OMITTED_HEADER };

export class InvokerRunner implements AttemptRunner {
  constructor(private readonly invoker: Invoker, private readonly runs: AsyncRunIndex, private readonly maxResultBytes: number = MAX_STORED_RESULT_BYTES,
    private readonly bytesPerWorkspace: number = DEFAULT_RESULT_BYTES_PER_WORKSPACE) {}

  async run(job: AttemptJob, signal: AbortSignal): Promise<AttemptOutcome> {
    const started = performance.now();
    const { call, trigger } = decodeEnvelope(job.payload);
    try {
      // The body past the cap is not held either (ADR 0236): a streamed one is read to its end and
      // dropped, the result carrying its size in `x-fp-result-omitted` (gateway/streamed.ts).
      const r = await this.invoker.invoke(job.function, { ...call, signal, attempt: job.attempt, runId: job.runId, keepBodyBytes: this.maxResultBytes }, trigger);
      const kept = r.body.length <= this.maxResultBytes;
      const headers: Pairs = kept ? [...r.headers] : [...r.headers, [RESULT_OMITTED_HEADER, String(r.body.length)]];
      // Not kept (here or by the gateway): the cap it was over goes with it, for its owner to read (protocol/run-result.ts).
      if (headers.some(([name]) => name === RESULT_OMITTED_HEADER)) headers.push([RESULT_MAX_BYTES_HEADER, String(this.maxResultBytes)]);
      await this.runs.setResult(job.runId, {
        status: r.status,
        headers,
        body: kept ? Buffer.from(r.body) : Buffer.alloc(0),
        attempt: job.attempt,
      }, { workspace: workspaceOfKey(job.function), bytes: this.bytesPerWorkspace }); // the sum is bounded too (ADR 0250)
      const retryAfterMs = retryAfterMsOf(r.status, r.headers, Date.now());
      const base = { cold: r.cold, durationMs: r.durationMs, initMs: r.initMs, handlerMs: r.handlerMs, ...(retryAfterMs !== null ? { retryAfterMs } : {}) };
      if (r.error === null) return { ok: !callFailed({ httpStatus: r.status, errored: false, queued: true }), httpStatus: r.status, errorCode: null, errorClass: null, ...base };
      const { type, message, file, line } = r.error;
      return {
        ok: false, httpStatus: r.status, errorCode: r.error.code, errorClass: r.errorClass, ...base,
        error: { type: type ?? r.error.code, message, ...(file === undefined ? {} : { file }), ...(line === undefined ? {} : { line }) },
      };
    } catch (err) {
      // Nothing ran: not found, paused, not deployed (or the gateway is gone).
      if (!isPlatformError(err)) throw err;
      const retryAfterS = retryAfterOf(err);
      return {
        ok: false, httpStatus: httpStatus(err.code), errorCode: err.code, errorClass: null, cold: false,
        ...(retryAfterS !== null ? { retryAfterMs: Number(retryAfterS) * 1000 } : {}),
        durationMs: performance.now() - started, initMs: 0, handlerMs: 0, error: { type: err.code, message: err.message },
      };
    }
  }
}
