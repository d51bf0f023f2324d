/**
 * The AttemptRunner of the platform: one attempt = one call through the gateway's in-process
 * invoke (trigger `async`, or `cron` for a tick; `attempt` passed through so the handler sees `context.attempt`), the
 * same request every time (the queued envelope). The attempt's response is kept as the run's
 * output.
 */
import { httpStatus, isPlatformError, type ErrorCode, type Invoker } from '../../../protocol/index.js';
import type { AttemptJob, AttemptOutcome, AttemptRunner } from '../dispatcher/index.js';
import { decodeEnvelope } from './envelope.js';
import type { AsyncRunIndex } from './runs-sqlite.js';

/** The error class the pool reports for each code (DirectResult carries the code only). */
const CLASS_OF: Partial<Record<ErrorCode, string>> = {
  FUNCTION_ERROR: 'user_error',
  FUNCTION_BAD_RESPONSE: 'bad_return',
  FUNCTION_INIT_FAILED: 'init_error',
  FUNCTION_TIMEOUT: 'timeout',
  RUNTIME_CRASHED: 'crash',
  FUNCTION_OUT_OF_MEMORY: 'out_of_memory',
  RUNTIME_PROTOCOL_ERROR: 'protocol_error',
};

export class InvokerRunner implements AttemptRunner {
  constructor(private readonly invoker: Invoker, private readonly runs: AsyncRunIndex) {}

  async run(job: AttemptJob, signal: AbortSignal): Promise<AttemptOutcome> {
    const started = performance.now();
    const { call, trigger } = decodeEnvelope(job.payload);
    try {
      const r = await this.invoker.invoke(job.function, { ...call, signal, attempt: job.attempt }, trigger);
      await this.runs.setResult(job.runId, { status: r.status, headers: r.headers, body: Buffer.from(r.body), attempt: job.attempt });
      const base = { cold: r.cold, durationMs: r.durationMs, initMs: 0, handlerMs: r.durationMs };
      if (r.error === null) return { ok: r.status < 400, httpStatus: r.status, errorCode: null, errorClass: null, ...base };
      const { type, message, file, line } = r.error;
      return {
        ok: false, httpStatus: r.status, errorCode: r.error.code, errorClass: CLASS_OF[r.error.code] ?? null, ...base,
        error: { type: type ?? r.error.code, message, ...(file === undefined ? {} : { file }), ...(line === undefined ? {} : { line }) },
      };
    } catch (err) {
      // Nothing ran: not found, paused, not deployed (or the gateway is gone).
      if (!isPlatformError(err)) throw err;
      return {
        ok: false, httpStatus: httpStatus(err.code), errorCode: err.code, errorClass: null, cold: false,
        durationMs: performance.now() - started, initMs: 0, handlerMs: 0, error: { type: err.code, message: err.message },
      };
    }
  }
}
