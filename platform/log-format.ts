/**
 * The platform's own log lines (not a function's: those are in its runs) as an operator's log
 * shipper takes them (FP_LOG_FORMAT, docs/platform.md "Logs"). `text` writes each line as the code
 * wrote it (`component: message`); `json` writes one JSON object a line:
 * `{"time", "level", "component", "msg", "runId"?}`. Every line, a multi-line one (a stack) too,
 * is one object: JSON escapes its newlines and control characters, so nothing in a message (a
 * function's name, an error a function caused, a store's answer) can start a line of its own.
 */
export type LogFormat = 'text' | 'json';
export type LogLevel = 'error' | 'warn' | 'info';

/**
 * A line about one run (`dispatcher: run <uuid>: …`): its id lifted into `runId` so an operator finds
 * the call's run. Only right after the component: further on, a message may quote what a function
 * said or raised, and a function must not be able to tie a line to another run.
 */
const RUN_ID = /^[a-z][a-z -]{0,29}: run ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/;
/** `component: ` at the start of a line: a few lower-case words (`controlplane`, `kubernetes host`), or the entry point's `fp-platform`. */
const COMPONENT = /^(?:(fp-platform)\b|([a-z][a-z -]{0,29}): )/;
const WARNING_MARK = /^(?:[a-z][a-z -]{0,29}: )?(?:warning|WARNING)\b/;
/**
 * The words the platform's lines use when something did not happen as it should (an ERROR marker,
 * "failed", "could not", "lost", "unavailable", "missing"…), or was put off or left out (a warning:
 * "skipped", "not scheduled", "did not run this time", "without their rate limits", "off:"…).
 * Matched in the whole line: a message quoting a function's words can only raise its level (noise,
 * never a component or a run id: see formatLogLine).
 */
const ERROR = /\b(?:ERROR|error \[|internal error|failed|could not|cannot (?:be used|open|write)|lost|exited|not written|dropped|unavailable|missing|not serving|ran longer than)\b/;
/**
 * The lines that say a fault is over (`dispatcher: claims work again after 7.0 s (7 failed
 * meanwhile)`, `controlplane: run records are written again after 41.3 s (15 writes failed
 * meanwhile)`): their count of failures is history, not a failure now. Whole lines, as the code
 * writes them, so nothing a function says can lower a line's level (ops round 5: each recovery
 * was an `error` record, and a shipper paging on `error` paged again when the outage ended).
 */
const RECOVERED = /^(?:dispatcher: claims work again after \d+(?:\.\d+)? s \(\d+ failed meanwhile\)|controlplane: warm instances are reported again \(\d+ reports? failed meanwhile\)|controlplane: [a-z ]{1,40} are written again after \d+(?:\.\d+)? s \(\d+ writes? failed meanwhile\))$/;
const WARN = /\b(?:did not run|not collected|not (?:all )?removed|not scheduled|not created|skipped|without (?:their|a memory)|bindings off|expired|over its)\b/;

/**
 * The level of one line, from its own words (the code writes `platform: WARNING: …`,
 * `controlplane: could not …`): `warn` for a warning, `error` for something that failed, else
 * `info`. A dispatcher's `run <id>: <error>` line is an attempt's failure.
 */
export function levelOf(line: string): LogLevel {
  if (WARNING_MARK.test(line)) return 'warn';
  if (RECOVERED.test(line)) return 'info';
  if (ERROR.test(line) || /^dispatcher: run \S+: /.test(line)) return 'error';
  if (WARN.test(line)) return 'warn';
  return 'info';
}

/** One line as `format` writes it, without its newline. */
export function formatLogLine(format: LogFormat, line: string, now: Date = new Date()): string {
  if (format === 'text') return line;
  const found = COMPONENT.exec(line);
  const component = found?.[1] ?? found?.[2] ?? 'platform';
  const runId = RUN_ID.exec(line)?.[1];
  return JSON.stringify({ time: now.toISOString(), level: levelOf(line), component, msg: line, ...(runId !== undefined ? { runId } : {}) });
}

/** The default `log` of a started platform: each line to stderr in `format`. */
export function stderrLog(format: LogFormat): (line: string) => void {
  return (line: string) => process.stderr.write(`${formatLogLine(format, line)}\n`);
}

/** The prefix poolmgr/host/function-output.ts puts on a function's line written outside a call. */
const FUNCTION_OUTPUT = /^\[function (\S+) \(pid (\d+)\) (stdout|stderr), outside a call\] /;

/**
 * Where a function's own output outside its calls goes (poolmgr's `functionOutput`: each line
 * already prefixed with the function and escaped, ending in a newline). In `json` it is a record of
 * its own, `component` "function" with the function's name, never a platform line's: its words are
 * the function's, so no level is read from them (`info`) and no run id is lifted from them; a
 * function printing a platform-looking JSON object only fills `msg`.
 */
export function functionOutputSink(format: LogFormat): (line: string) => void {
  if (format === 'text') return (line: string) => process.stderr.write(line);
  return (line: string) => process.stderr.write(`${formatFunctionOutput(line)}\n`);
}

export function formatFunctionOutput(line: string, now: Date = new Date()): string {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  const found = FUNCTION_OUTPUT.exec(text);
  return JSON.stringify({
    time: now.toISOString(), level: 'info', component: 'function', msg: text,
    ...(found !== null ? { function: found[1], pid: Number(found[2]), stream: found[3] } : {}),
  });
}
