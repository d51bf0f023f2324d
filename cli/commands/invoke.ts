/** `invoke <name>`: calls the function (its URL, or the test-invoke endpoint) and shows the answer. */
import { selfCommandOf } from '../self-command.js';
import { appRouteHint } from '../app-route-hint.js';
import { elsewhereText, nearFunctionName, workspacesHolding } from '../suggest.js';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { flag, list, positionals, str, type ParsedArgs } from '../args.js';
import { checkFunctionName } from '../function-name.js';
import { ApiClient, isAsyncRun, type ApiAsyncRun } from '../client.js';
import { clientOf, targetOf, UNSAFE_WARNING, workspaceOf, type Command, type Context } from '../context.js';
import { CliError, EXIT, usageError, type ExitCode } from '../errors.js';
import { formatBytes, formatMs } from '../output.js';
import { terminalSafe } from '../terminal.js';
import type { HttpRequest } from '../http.js';
import { LiveBody } from './invoke-live.js';
import { documentError, exitOfComponent, type ErrorBody } from '../json-document.js';
import { DEFAULT_WORKSPACE, ERRORS, functionKey, indentJsonText, isErrorCode, jsonNumbersSurviveParse, MAX_JSON_DEPTH, omittedResultNote, tooDeep, type ErrorCode } from '../../protocol/index.js';
import { functionOfFolder } from '../folder-function.js';
import { apiGatewayEventNote } from '../lambda-test-event.js';

export interface InvokeRequest {
  method: string;
  /** Starts with `/`; may carry `?query`. */
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

export interface InvokeAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  runId: string | null;
  cold: boolean | null;
  durationMs: number;
  /** Server-Timing phases (ms) when the gateway sent them. */
  timing: Record<string, number>;
  /** The test invoke's `error` (the failure as the run record has it); a direct call has none. */
  error?: RunErrorShown;
}

/** A failed call's exception, as the run record and the test invoke's answer carry it. */
export interface RunErrorShown {
  code?: string;
  type?: string;
  message: string;
  file?: string;
  line?: number;
}

/** The test invoke's `error` when it has a message, else undefined (the API may add fields). */
export function testInvokeError(raw: unknown): RunErrorShown | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as Record<string, unknown>;
  if (typeof e.message !== 'string') return undefined;
  return {
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.type === 'string' ? { type: e.type } : {}),
    ...(typeof e.file === 'string' ? { file: e.file } : {}),
    ...(typeof e.line === 'number' ? { line: e.line } : {}),
  };
}

/** `error (from the run record): KeyError: 'x'  (main.py:4)`, escaped (the function wrote it; red team 3). */
export function runErrorLine(label: string, error: RunErrorShown): string {
  const where = error.file !== undefined ? `  (${terminalSafe(error.file)}${error.line !== undefined ? `:${error.line}` : ''})` : '';
  return `error (${label}): ${terminalSafe(error.type ?? error.code ?? 'Error')}: ${terminalSafe(error.message)}${where}`;
}

/** `queue;dur=0, init;dur=8.61, …` → `{queue: 0, init: 8.61, …}`. */
export function parseServerTiming(header: string | null | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().split(';');
    const dur = params.map((p) => /^\s*dur=([\d.]+)\s*$/.exec(p)).find((m) => m !== null);
    if (name && dur) out[name.trim()] = Number(dur[1]);
  }
  return out;
}

/** `K:V` header arguments → a map with lower-case names. */
export function parseHeaders(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const colon = item.indexOf(':');
    if (colon <= 0) throw usageError(`--header must look like Name: value, got ${JSON.stringify(item)}`);
    out[item.slice(0, colon).trim().toLowerCase()] = item.slice(colon + 1).trim();
  }
  return out;
}

function looksLikeJson(data: Buffer): boolean {
  return jsonError(data) === null;
}

/** Why `data` is not JSON (JSON.parse's words), or null when it is. */
function jsonError(data: Buffer): string | null {
  try {
    JSON.parse(data.toString('utf8'));
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * A note when a body meant as JSON (it opens with `{` or `[`, or comes from a .json file) is not:
 * it was sent as it is, and the function's own "not JSON" answer (400 from the templates) read as
 * the platform's fault (journey round 11: `-d '{"a":'` went as text/plain without a word).
 */
function noteBrokenJson(ctx: Context, body: Buffer, type: string, from: string, jsonFile: boolean): void {
  if (!jsonFile && !/^\s*[[{]/.test(body.toString('utf8', 0, 64))) return;
  const why = jsonError(body);
  if (why !== null) ctx.out.note(`note: ${from} is not valid JSON (${why}); sent as it is, content-type ${type}`);
}

/** The request from the command line: body from --data, --file or `-` (stdin), at most one. */
export async function buildRequest(ctx: Context, args: ParsedArgs, stdin: boolean): Promise<InvokeRequest> {
  let data = str(args, 'data');
  let file = str(args, 'file');
  let fileFlag = '--file';
  // curl's `-d @payload.json` (and `-d @-`): the body is the file's (stdin's) content, not the text
  // "@payload.json", which reached the function as a body that is not JSON. A body that really
  // starts with @ goes with --file or stdin.
  if (data !== undefined && data.startsWith('@') && data.length > 1) {
    if (data === '@-') {
      if (stdin || file !== undefined) throw usageError('give the body once: --data, --file or - (stdin)');
      stdin = true;
    } else {
      if (file !== undefined) throw usageError('give the body once: --data, --file or - (stdin)');
      file = data.slice(1);
      fileFlag = '--data @FILE';
    }
    data = undefined;
  }
  if ([data !== undefined, file !== undefined, stdin].filter(Boolean).length > 1) throw usageError('give the body once: --data, --file or - (stdin)');
  let body: Buffer | null = null;
  let type: string | undefined;
  let from = '';
  if (data !== undefined) {
    body = Buffer.from(data, 'utf8');
    type = looksLikeJson(body) ? 'application/json' : 'text/plain; charset=utf-8';
    from = 'the body of --data';
  } else if (file !== undefined) {
    body = await readFile(resolve(ctx.cwd, file)).catch((err: Error) => {
      throw usageError(`cannot read ${fileFlag === '--file' ? `--file ${file}` : `the file of --data @${file}`}: ${err.message}`);
    });
    type = file.endsWith('.json') || looksLikeJson(body) ? 'application/json' : 'application/octet-stream';
    from = file;
  } else if (stdin) {
    body = await ctx.io.readStdin();
    type = looksLikeJson(body) ? 'application/json' : 'application/octet-stream';
    from = 'the body from stdin';
  }
  const headers = parseHeaders(list(args, 'header'));
  if (body !== null && type !== undefined && headers['content-type'] === undefined) noteBrokenJson(ctx, body, type, from, from.endsWith('.json'));
  if (type !== undefined && headers['content-type'] === undefined) headers['content-type'] = type;
  let path = str(args, 'path') ?? '/';
  if (!path.startsWith('/')) path = `/${path}`;
  // `--query name=Ada` (curl -G --data-urlencode, `faas-cli invoke --query`): encoded here, appended to --path's own query.
  const query = new URLSearchParams();
  for (const item of list(args, 'query')) {
    const eq = item.indexOf('=');
    if (eq === 0) throw usageError(`--query must look like name=value, got ${JSON.stringify(item)}`);
    query.append(eq < 0 ? item : item.slice(0, eq), eq < 0 ? '' : item.slice(eq + 1));
  }
  if ([...query.keys()].length > 0) path += `${path.includes('?') ? '&' : '?'}${query.toString()}`;
  const method = (str(args, 'method') ?? (body === null ? 'GET' : 'POST')).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw usageError(`--method must be an HTTP method, got ${JSON.stringify(method)}`);
  return { method, path, headers, body };
}

/** Calls `/fn/<name><path>` directly, as any client would; `token` is the function's invoke token. */
export async function callDirect(client: ApiClient, name: string, req: InvokeRequest, token: string | undefined, onHead?: HttpRequest['onHead']): Promise<InvokeAnswer> {
  const headers = { ...req.headers, ...(token !== undefined && req.headers.authorization === undefined ? { authorization: `Bearer ${token}` } : {}) };
  const started = performance.now();
  const res = await client.send(`${client.baseUrl}/fn/${name}${req.path}`, { method: req.method, headers, ...(req.body ? { body: req.body } : {}), ...(onHead ? { onHead } : {}) });
  const body = res.body;
  const elapsed = performance.now() - started;
  const timing = parseServerTiming(res.header('server-timing'));
  const cold = res.header('x-cold-start');
  return {
    status: res.status,
    headers: res.headers(),
    body,
    runId: res.header('x-run-id'),
    cold: cold === null ? null : cold === '1',
    durationMs: timing.total ?? elapsed,
    timing,
  };
}

/**
 * Where a function is called and with which token: its key in the call's workspace (the URL's
 * `/fn/<key>`), and `--invoke-token`, else its invoke token saved by deploy, else the API token in
 * use (a workspace token with the role invoker or above, or the admin token, may call a token-mode
 * function; the gateway never hands a platform token to a function: docs/api-invoke.md).
 */
async function callTarget(ctx: Context, args: ParsedArgs, name: string): Promise<{ client: ApiClient; key: string; token: string | undefined }> {
  const { target, profile } = await targetOf(ctx, args);
  const workspace = await workspaceOf(ctx, target);
  const key = functionKey(name, workspace);
  const saved = profile?.invokeTokens[key] ?? (workspace === DEFAULT_WORKSPACE ? profile?.invokeTokens[name] : undefined);
  const client = new ApiClient(target.url, target.token, () => ctx.out.note(UNSAFE_WARNING), target.workspace);
  return { client, key, token: str(args, 'invoke-token') ?? saved ?? target.token };
}

async function invokeDirect(ctx: Context, args: ParsedArgs, name: string, req: InvokeRequest, live: LiveBody): Promise<InvokeAnswer> {
  const { client, key, token } = await callTarget(ctx, args, name);
  try {
    return await callDirect(client, key, req, token, live.onHead);
  } finally {
    live.finish();
  }
}

/** Runs the payload through the control plane's test-invoke endpoint (admin token). */
async function invokeTest(ctx: Context, args: ParsedArgs, name: string, req: InvokeRequest): Promise<InvokeAnswer> {
  const client = await clientOf(ctx, args);
  const [path, query] = splitQuery(req.path);
  const payload: Record<string, unknown> = { method: req.method, path, headers: req.headers };
  if (query !== null) payload.query = queryRecord(query);
  if (req.body !== null) {
    // JSON goes as `body`, unless a number in it would not survive the parse (9007199254740993): then the bytes, as sent.
    if (req.headers['content-type'] === 'application/json' && looksLikeJson(req.body) && jsonNumbersSurviveParse(req.body.toString('utf8'))) payload.body = JSON.parse(req.body.toString('utf8'));
    else payload.bodyBase64 = req.body.toString('base64');
  }
  const r = await client.testInvoke(name, payload);
  const body = r.bodyBase64 !== undefined
    ? Buffer.from(r.bodyBase64, 'base64')
    : Buffer.from(typeof r.body === 'string' ? r.body : r.body === undefined || r.body === null ? '' : JSON.stringify(r.body), 'utf8');
  const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  const error = testInvokeError(r.error);
  return { status: r.status, headers, body, runId: r.runId, cold: r.cold, durationMs: r.durationMs, timing: parseServerTiming(headers['server-timing']), ...(error !== undefined ? { error } : {}) };
}

/** `a=1&b=2&b=3` → `{a: '1', b: ['2', '3']}` (the test-invoke endpoint's form). */
export function queryRecord(query: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}

/** `/a?x=1` → `['/a', 'x=1']`; no query → null. */
export function splitQuery(path: string): [string, string | null] {
  const q = path.indexOf('?');
  return q < 0 ? [path, null] : [path.slice(0, q), path.slice(q + 1)];
}

function isJson(answer: InvokeAnswer): boolean {
  return /\bjson\b/.test(answer.headers['content-type'] ?? '') && looksLikeJson(answer.body);
}

function isText(answer: InvokeAnswer): boolean {
  const type = answer.headers['content-type'] ?? '';
  return type.startsWith('text/') || /json|xml|javascript|charset=/.test(type) || (type === '' && !answer.body.includes(0));
}

/** A JSON result the API kept as text (a number in it past 2^53, protocol/json-numbers.ts), indented; other text as is. */
function jsonTextShown(text: string, contentType: string | undefined): string {
  if (!/\bjson\b/.test(contentType ?? '')) return text;
  try {
    JSON.parse(text);
  } catch {
    return text;
  }
  return indentJson(text);
}

/**
 * JSON indented; from its text when JSON.parse would change a number's digits (an integer past 2^53), else by the (faster) parse.
 * Nested past MAX_JSON_DEPTH it is shown as sent: parsed, JSON.stringify overflowed the stack and the
 * CLI ended with "unexpected error", and indented, 20 000 levels are ~800 MB of spaces (red team round 18).
 */
function indentJson(text: string): string {
  if (!shallowJson(text)) return text;
  return jsonNumbersSurviveParse(text) ? JSON.stringify(JSON.parse(text), null, 2) : indentJsonText(text);
}

/** Whether a JSON text nests at most MAX_JSON_DEPTH deep (the API's own bound), so a parse of it can be written again. */
function shallowJson(text: string): boolean {
  return tooDeep(Buffer.from(text), MAX_JSON_DEPTH) === null;
}

/** The body for people: JSON indented, text as is, binary as a size. */
export function formatBody(a: InvokeAnswer): string {
  if (isJson(a)) return indentJson(a.body.toString('utf8'));
  if (isText(a)) return a.body.toString('utf8');
  // The type is the function's own header: escaped like its body (an 8-bit CSI or OSC drives some terminals).
  return `(${a.body.length} bytes of ${terminalSafe(headerText(a.headers['content-type'] ?? 'binary data'))}; save them with --output FILE)`;
}

/**
 * A response header value as people read it: Node hands header bytes over as Latin-1, the
 * platform writes text values as UTF-8 (docs/gateway.md), so a value that is valid UTF-8 is shown
 * decoded (`é`, not `Ã©`); any other is shown as its bytes. Escaped by the caller.
 */
/** `-i`: one `name: value` line per header, one per cookie for Set-Cookie (joined by line breaks). */
function headerLines(headers: Readonly<Record<string, string>>): string[] {
  return Object.entries(headers).flatMap(([k, v]) => (k === 'set-cookie' ? v.split('\n') : [v]).map((one) => terminalSafe(`${k}: ${headerText(one)}`)));
}

function headerText(value: string): string {
  const bytes = Buffer.from(value, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : value;
}

/** Bodies above this are cut to a head on a terminal (docs/cli.md, "invoke"); piped, nothing is cut. */
export const TERMINAL_BODY_BYTES = 64 * 1024;
const HEAD_CHARS = 4096;
const HEAD_LINES = 40;

/**
 * The body for a terminal: as `formatBody`, but a large one (over TERMINAL_BODY_BYTES) is cut
 * to its first lines and a binary one (by its type, or a NUL byte near its start, as curl
 * decides) is not printed at all; either way it says how to get it whole (-o FILE). Megabytes
 * of text scroll everything else away, and binary bytes can leave the terminal garbled.
 */
export function formatBodyForTerminal(a: InvokeAnswer, save: string): string {
  const size = formatBytes(a.body.length);
  if (!isText(a) || a.body.subarray(0, 8192).includes(0)) {
    // The function's own header, escaped as formatBody escapes it (it went raw here: red team round 7).
    return `(${size} of ${terminalSafe(headerText(a.headers['content-type'] ?? 'binary data'))}: binary, not printed on the terminal; save it whole with ${save})`;
  }
  if (a.body.length <= TERMINAL_BODY_BYTES) return shownSafe(formatBody(a));
  const text = formatBody(a);
  let head = text.slice(0, HEAD_CHARS);
  const lines = head.split('\n');
  if (lines.length > HEAD_LINES) head = lines.slice(0, HEAD_LINES).join('\n');
  else if (lines.length > 1) head = lines.slice(0, -1).join('\n'); // end on a whole line
  return `${shownSafe(head)}\n… (${size} in all, the first ${formatBytes(Buffer.byteLength(head))} shown: save it whole with ${save}, or pipe it: … | less)`;
}

/**
 * A function's text as a terminal may show it: control characters other than line breaks and
 * tabs escaped (cli/terminal.ts), as `logs` and `runs` show what functions write; an escape
 * sequence in a body must not retitle, recolor or rewrite the terminal. Piped output is untouched.
 */
function shownSafe(text: string): string {
  return text.split(/\r?\n/).map((line) => line.split('\t').map((part) => terminalSafe(part, Number.MAX_SAFE_INTEGER)).join('\t')).join('\n');
}

/**
 * The one-line summary: status, duration, cold/warm, run id. `streamedMs`: a body printed as it
 * came took this long in all (the gateway's Server-Timing total was sent with the head, before it).
 */
export function summaryLine(a: InvokeAnswer, streamedMs?: number): string {
  const parts = [`HTTP ${a.status}`, formatMs(a.durationMs)];
  if (streamedMs !== undefined) parts.push(`streamed ${formatMs(streamedMs)}`);
  // A call refused before any instance (413, a token, paused…) was neither cold nor warm.
  if (a.cold !== null && !refusedUpFront(a)) parts.push(a.cold ? `cold start${a.timing.init !== undefined ? ` (init ${formatMs(a.timing.init)})` : ''}` : 'warm');
  if (a.runId) parts.push(`run ${a.runId}`);
  return parts.join('  ·  ');
}

const FINAL_STATES = new Set(['succeeded', 'failed', 'cancelled']);
const WAIT_POLL_MS = 250;
const WAIT_MAX_MS = 10 * 60_000;

/** `POST /async/<name><path>`: the run id of the queued run (202), or the error answer. */
async function invokeAsync(ctx: Context, args: ParsedArgs, name: string, req: InvokeRequest): Promise<number> {
  if (flag(args, 'test')) throw usageError('--async and --test do not go together');
  // Without --wait there is no body to write: refused before anything is queued (it was ignored).
  const output = str(args, 'output');
  if (output !== undefined && !flag(args, 'wait')) throw usageError('--output with --async needs --wait: the result is written once the run has ended');
  const { client, key, token } = await callTarget(ctx, args, name);
  const headers: Record<string, string> = { ...req.headers, ...(token !== undefined && req.headers.authorization === undefined ? { authorization: `Bearer ${token}` } : {}) };
  const idempotency = str(args, 'idempotency-key');
  if (idempotency !== undefined) headers['idempotency-key'] = idempotency;
  const res = await client.send(`${client.baseUrl}/async/${key}${req.path}`, { method: req.method, headers, ...(req.body ? { body: req.body } : {}) });
  const text = res.text();
  if (res.status !== 202) {
    const answer: InvokeAnswer = { status: res.status, headers: { 'content-type': res.header('content-type') ?? '' }, body: Buffer.from(text), runId: null, cold: null, durationMs: 0, timing: {} };
    const error = callError(answer);
    ctx.out.data({ ok: false, function: name, status: res.status, body: text, error });
    ctx.out.line(`HTTP ${res.status}`);
    ctx.out.line(formatBody(answer)); // indented as a sync call's error is
    await explainFailure(ctx, args, answer, name);
    return error.exitCode as ExitCode;
  }
  const { runId, created } = JSON.parse(text) as { runId: string; created?: boolean };
  // A repeated key names the run it queued first: say so, or the caller takes it for a new run.
  if (created === false) ctx.out.note(`Idempotency-Key ${JSON.stringify(idempotency)} was sent before with this request: ${runId} is the run it queued then; nothing new was queued.`);
  if (!flag(args, 'wait')) {
    ctx.out.data({ ok: true, function: name, runId, created: created !== false });
    ctx.out.line(runId);
    // stdout stays the bare id (RUN=$(invoke --async …)); a bare UUID said nothing of what next.
    ctx.out.note(`${created === false ? '' : 'Queued. '}Its state, attempts and result: ${selfCommandOf(ctx)} runs ${runId}  (or invoke with --wait)`);
    return EXIT.OK;
  }
  return waitForRun(ctx, client, name, runId, output);
}

/**
 * Waits until the async run `runId` of `name` is final (at most WAIT_MAX_MS) and shows its state,
 * attempts, result (or writes it to `output`) and, failed, its last exception: `invoke --async
 * --wait` and `runs replay --wait`. Exit 0 when it succeeded.
 */
export async function waitForRun(ctx: Context, client: ApiClient, name: string, runId: string, output?: string): Promise<number> {
  const deadline = Date.now() + WAIT_MAX_MS;
  let run: ApiAsyncRun | null = null;
  for (;;) {
    const r = await client.getRun(runId);
    if (isAsyncRun(r) && FINAL_STATES.has(r.state)) {
      run = r;
      break;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
  if (run === null) {
    ctx.out.data({ ok: false, function: name, runId, state: 'timeout', error: documentError('RUN_WAIT_TIMEOUT', `run ${runId} did not finish within ${WAIT_MAX_MS / 1000} s`, EXIT.FAILURE, { runId }) });
    ctx.out.line(`run ${runId} did not finish within ${WAIT_MAX_MS / 1000} s; follow it with: ${selfCommandOf(ctx)} runs ${runId}`);
    return EXIT.FAILURE;
  }
  const ok = run.state === 'succeeded';
  ctx.out.data({ ok, function: name, runId, state: run.state, attempts: run.attempts.length, result: run.result, ...(ok ? {} : { error: runError(run) }) });
  ctx.out.line(`run ${runId}  ·  ${run.state}  ·  ${run.attempts.length} attempt${run.attempts.length === 1 ? '' : 's'}${run.result ? `  ·  HTTP ${run.result.status}` : ''}`);
  if (run.result !== null && output !== undefined && omittedResultNote(run.result.headers) === null) {
    // The body as the function answered it, as a sync call's --output writes it (apps round 6:
    // --output was ignored here, and a binary result was only reachable as --json's bodyBase64).
    const bytes = 'bodyBase64' in run.result ? Buffer.from(run.result.bodyBase64, 'base64')
      : Buffer.from(typeof run.result.body === 'string' ? run.result.body : JSON.stringify(run.result.body, null, 2));
    await writeFile(resolve(ctx.cwd, output), bytes).catch((err: Error) => {
      throw new CliError(EXIT.FAILURE, 'OUTPUT_FAILED', `cannot write --output ${output}: ${err.message}`);
    });
    ctx.out.line(`(${bytes.length} bytes written to ${output})`);
  } else if (run.result !== null) {
    const omitted = omittedResultNote(run.result.headers);
    const body = omitted ?? ('bodyBase64' in run.result ? `(${Buffer.from(run.result.bodyBase64, 'base64').length} bytes)` : typeof run.result.body === 'string' ? jsonTextShown(run.result.body, run.result.headers['content-type']) : JSON.stringify(run.result.body, null, 2));
    // On a terminal the result is shown as a sync answer's is: escaped, a large one cut (the whole one: `runs <id> --json`).
    const cut = ctx.io.stdoutIsTTY === true && !('bodyBase64' in run.result)
      ? formatBodyForTerminal({ status: run.result.status, headers: { 'content-type': 'text/plain' }, body: Buffer.from(body), runId, cold: null, durationMs: 0, timing: {} }, `${selfCommandOf(ctx)} runs ${runId} --json > result.json`)
      : body;
    ctx.out.line(cut);
  }
  // The owner waited for it: the last attempt's exception, as a sync call's failure shows it
  // (escaped: the function wrote it; red team 3).
  const failed = ok ? undefined : [...run.attempts].reverse().find((a) => a.error !== null);
  if (failed?.error) {
    const { type, message, file, line } = failed.error;
    const where = file !== undefined ? `  (${terminalSafe(file)}${line !== undefined ? `:${line}` : ''})` : '';
    ctx.out.line(`error (attempt ${failed.attempt}): ${terminalSafe(type)}: ${terminalSafe(message)}${where}`);
  }
  // A run failed for good goes to no dead-letter queue or destination (a Lambda user looks for one;
  // new-user round 12): it stays in the run history with its payload, and replay runs it again.
  const replay = run.state === 'failed' ? `; it is kept with its payload (\`runs ${name} --status failed\` lists such runs): after a fix, \`${selfCommandOf(ctx)} runs replay ${runId}\` runs it again` : '';
  if (!ok) ctx.out.note(`The state timeline and each attempt's error: ${selfCommandOf(ctx)} runs ${runId}${replay}`);
  return ok ? EXIT.OK : EXIT.FAILURE;
}

/**
 * What a second argument of `invoke` was meant as, by its shape (newcomer round 12: `invoke shop
 * /items/1` said only "use - to read the body from stdin"): a path, a JSON body or a query pair.
 */
function strayArgument(arg: string, before: string): string | null {
  const quoted = arg.includes("'") ? JSON.stringify(arg) : `'${arg}'`;
  if (arg.startsWith('/')) return `a path after the function's URL goes in --path: invoke ${before}--path ${quoted}`;
  if (/^\s*[[{]/.test(arg)) return `a request body goes in --data: invoke ${before}--data ${quoted}`;
  if (/^[^=/\s]+=/.test(arg)) return `a query parameter goes in --query: invoke ${before}--query ${quoted}`;
  return null;
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  let pos = positionals(args, 2, 'invoke');
  // In a function's folder the name may be left out (`invoke`, `invoke -`): the folder's.
  const folder = pos[0] === undefined || (pos[0] === '-' && pos[1] === undefined) ? functionOfFolder(ctx.cwd) : null;
  if (folder !== null) pos = [folder, ...pos];
  const name = pos[0];
  if (name === undefined) throw usageError('invoke needs the function name: fastapi-platform invoke <name> (or run it in a function\'s folder)');
  if (pos[1] === undefined && pos[0] !== '-') {
    const meant = strayArgument(name, '<name> ');
    if (meant !== null) throw usageError(`${JSON.stringify(name)} is not a function name; ${meant}`);
  }
  checkFunctionName(name);
  if (pos[1] !== undefined && pos[1] !== '-') {
    throw usageError(`unexpected argument ${JSON.stringify(pos[1])}; ${strayArgument(pos[1], `${name} `) ?? 'use - to read the body from stdin'}`);
  }
  // `invoke f < payload.json` sends the file, as `-` would: the shell already opened it for us. A
  // pipe is not read unasked (a script's open stdin would hang the call), but it is not silently
  // dropped either: faas-cli users pipe bodies by habit (`echo … | faas-cli invoke f`).
  const noBody = str(args, 'data') === undefined && str(args, 'file') === undefined && pos[1] !== '-';
  if (noBody && ctx.io.stdinKind === 'pipe') ctx.out.note('note: stdin is not read without `-`: to send it as the body, add - (`… | fastapi-platform invoke <name> -`)');
  const req = await buildRequest(ctx, args, pos[1] === '-' || (noBody && ctx.io.stdinKind === 'file'));
  if (req.body !== null && str(args, 'path') === undefined && str(args, 'method') === undefined) {
    const data = str(args, 'data');
    const lambda = apiGatewayEventNote(req.body, str(args, 'file') ?? (data?.startsWith('@') === true && data !== '@-' ? data.slice(1) : 'the body'), name);
    if (lambda !== null) ctx.out.note(lambda);
  }
  if (flag(args, 'async')) return invokeAsync(ctx, args, name, req);
  if (flag(args, 'wait')) throw usageError('--wait needs --async');
  if (str(args, 'idempotency-key') !== undefined) throw usageError('--idempotency-key needs --async (a sync call is not queued, so it is never deduplicated)');
  const output = str(args, 'output');
  // The body as it arrives (docs/cli.md, "invoke"): -o FILE written as it comes; a stream (SSE, a
  // StreamingResponse) printed as it comes, the -i headers before it and the summary line after.
  const live = new LiveBody(ctx, output === undefined ? undefined : resolve(ctx.cwd, output), (head) => {
    if (flag(args, 'include')) for (const line of headerLines(head.headers())) ctx.out.line(line);
  });
  const started = performance.now();
  const answer = flag(args, 'test') ? await invokeTest(ctx, args, name, req) : await invokeDirect(ctx, args, name, req, live);
  const streamedMs = live.printed ? performance.now() - started : undefined;
  if (output !== undefined && flag(args, 'test')) await writeFile(resolve(ctx.cwd, output), answer.body);
  const ok = answer.status < 400;
  const json = isJson(answer);
  const error = ok ? null : callError(answer);
  ctx.out.data({
    ok,
    function: name,
    status: answer.status,
    durationMs: answer.durationMs,
    cold: answer.cold,
    runId: answer.runId,
    timing: answer.timing,
    headers: answer.headers,
    ...(error !== null ? { error } : {}),
    ...(json && jsonNumbersSurviveParse(answer.body.toString('utf8')) && shallowJson(answer.body.toString('utf8')) ? { body: JSON.parse(answer.body.toString('utf8')) as unknown } : isText(answer) || json ? { body: answer.body.toString('utf8') } : { bodyBase64: answer.body.toString('base64') }),
  });
  ctx.out.line(summaryLine(answer, streamedMs));
  if (!live.printed) {
    if (flag(args, 'include')) for (const line of headerLines(answer.headers)) ctx.out.line(line);
    // A redirect says where to, as curl -i would show it: its body is usually empty.
    else if (answer.status >= 300 && answer.status < 400 && answer.headers['location'] !== undefined) ctx.out.line(terminalSafe(`location: ${headerText(answer.headers['location'])}`));
    ctx.out.line(output !== undefined ? `(${answer.body.length} bytes written to ${output})` : ctx.io.stdoutIsTTY === true ? formatBodyForTerminal(answer, `${selfCommandOf(ctx)} invoke ${name} … -o FILE`) : formatBody(answer));
  }
  // The test invoke answers the failure with the call (its `error`); a direct call's is in the run record.
  if (!ok && answer.error !== undefined) ctx.out.line(runErrorLine('from the test invoke', answer.error));
  else if (!ok && !flag(args, 'test')) await showRunError(ctx, args, answer);
  if (!ok) await explainFailure(ctx, args, answer, name);
  // The app's own 404/405 of a route it does not have: the path or the method, said (cli/app-route-hint.ts).
  const hint = ok || ctx.out.json || flag(args, 'test') ? null : appRouteHint(answer, req, `${selfCommandOf(ctx)} invoke ${name}`);
  if (hint !== null) ctx.out.note(`note: ${hint}`);
  return error === null ? EXIT.OK : error.exitCode as ExitCode;
}

/**
 * A failed call's `error` (ADR 0174): the platform's code and message when the platform answered
 * (exit 4 when it refused the call, 1 when the function or its runtime failed), else the function's
 * own error status (FUNCTION_ANSWERED_ERROR, exit 1). A test invoke's exception (`type`, `file`,
 * `line`) and message stay in it as they were.
 */
export function callError(a: InvokeAnswer): ErrorBody {
  const code = platformErrorCode(a);
  const details = { status: a.status, ...(a.error ?? {}) };
  if (code === undefined) return documentError('FUNCTION_ANSWERED_ERROR', a.error?.message ?? `the function answered HTTP ${a.status}`, EXIT.FAILURE, details);
  let said: unknown;
  try {
    said = (JSON.parse(a.body.toString('utf8')) as { error: { message?: unknown } }).error.message;
  } catch { /* platformErrorCode parsed it */ }
  return documentError(code, a.error?.message ?? (typeof said === 'string' && said !== '' ? said : ERRORS[code].title), exitOfComponent(ERRORS[code].component), details);
}

/** A failed or cancelled async run's `error`: its last attempt's code and exception (exit 1). */
function runError(run: ApiAsyncRun): ErrorBody {
  const failed = [...run.attempts].reverse().find((a) => a.error !== null || a.errorCode !== null);
  const message = failed?.error?.message ?? `run ${run.runId} ended ${run.state}`;
  return documentError(failed?.errorCode ?? 'RUN_NOT_SUCCEEDED', message, EXIT.FAILURE, { runId: run.runId, state: run.state, ...(failed?.error ? { type: failed.error.type } : {}) });
}

const RUN_ERROR_WAIT_MS = 3000;

/**
 * Callers get a generic message when a function fails (docs/api-invoke.md, "Errors"); its owner,
 * whose token can read runs, sees the exception from the run record here. The record is written
 * off the request path, so it may take a moment to appear; no token or no record: nothing shown.
 */
async function showRunError(ctx: Context, args: ParsedArgs, a: InvokeAnswer): Promise<void> {
  if (ctx.out.json || a.runId === null || a.status < 500) return;
  const { target } = await targetOf(ctx, args);
  if (!target.token) return;
  const client = new ApiClient(target.url, target.token, () => {});
  const deadline = Date.now() + RUN_ERROR_WAIT_MS;
  for (;;) {
    const run = await client.getRun(a.runId).catch(() => null);
    const error = run !== null && 'error' in run ? run.error : null;
    if (error !== null && error !== undefined) {
      // The function wrote all of it: escaped as `runs <id>` shows it (a raw ESC retitled the
      // terminal or wrote the clipboard with OSC 52; red team 3).
      ctx.out.line(runErrorLine('from the run record', error));
      return;
    }
    if (run !== null || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The platform's error code when the answer is the platform's error (`{error: {code, component}}`
 * with a registry code: the call failed), else undefined: the function answered this status
 * itself (a 404 it returned on purpose is a successful run).
 */
export function platformErrorCode(a: InvokeAnswer): ErrorCode | undefined {
  if (!/\bjson\b/.test(a.headers['content-type'] ?? '')) return undefined;
  try {
    const error = (JSON.parse(a.body.toString('utf8')) as { error?: { code?: unknown; component?: unknown } } | null)?.error;
    return typeof error?.code === 'string' && isErrorCode(error.code) && typeof error.component === 'string' ? error.code : undefined;
  } catch {
    return undefined; // the function's own body
  }
}

/**
 * True when the platform refused the call before any instance ran it (the error's component is the
 * request or the gateway, not the function, runtime or pool): no cold start, no logs, no stack.
 */
function refusedUpFront(a: InvokeAnswer): boolean {
  if (platformErrorCode(a) === undefined) return false;
  try {
    const component = (JSON.parse(a.body.toString('utf8')) as { error: { component: string; code: string } }).error;
    return (component.component === 'request' || component.component === 'gateway') && component.code !== 'INTERNAL_ERROR';
  } catch {
    return false;
  }
}

async function explainFailure(ctx: Context, args: ParsedArgs, a: InvokeAnswer, name: string): Promise<void> {
  if (ctx.out.json) return;
  const code = platformErrorCode(a);
  // The function's own 4xx/5xx answer: its run did not fail, the summary line has its run id.
  if (code === undefined) return;
  if (code === 'FUNCTION_NOT_FOUND') {
    // A typo (`my-fm`) gets the near name, as the API commands' FUNCTION_NOT_FOUND does (main.ts).
    const near = await nearFunctionName(ctx, args, name);
    const deploy = `deploy it with \`${selfCommandOf(ctx)} deploy\` (or pick the workspace with --workspace / --profile).`;
    const workspace = (await targetOf(ctx, args)).target.workspace;
    const elsewhere = near === null ? elsewhereText(await workspacesHolding(ctx, args, name)) : '';
    ctx.out.note(`No function "${name}" is deployed in ${workspace !== undefined ? `workspace ${JSON.stringify(workspace)}` : 'this workspace'}${near !== null ? `; did you mean ${JSON.stringify(near)}? ${deploy[0]!.toUpperCase()}${deploy.slice(1)}` : elsewhere !== '' ? elsewhere : `: ${deploy}`}`);
  }
  else if (code === 'FUNCTION_PAUSED') ctx.out.note(`"${name}" is paused: resume it with \`${selfCommandOf(ctx)} functions resume ${name}\` (\`functions show ${name}\` says who paused it in its deploy log).`);
  else if (code === 'FUNCTION_NOT_DEPLOYED') ctx.out.note(`"${name}" exists but has no deployed version yet: deploy it from its folder with \`${selfCommandOf(ctx)} deploy\` (or its draft from the console's Code tab).`);
  else if (code === 'INVOCATION_MODE_NOT_ALLOWED') {
    const sync = a.body.toString('utf8').includes('"invocation":"sync"');
    ctx.out.note(`"${name}" is invocation: ${sync ? 'sync' : 'async'} in its platform.yaml: ${sync ? 'invoke it without --async' : 'invoke it with --async (--wait prints the result)'}, or set invocation: both and deploy again.`);
  } else if (code === 'RATE_LIMITED' || code === 'QUOTA_EXCEEDED') ctx.out.note(`Refused by a limit (${code}); retry after ${terminalSafe(headerText(a.headers['retry-after'] ?? 'a few'))} s.`);
  else if (code === 'ROLE_FORBIDDEN') ctx.out.note(`The token's role cannot invoke "${name}": use a token with the role invoker or above, or --invoke-token T.`);
  else if (a.status === 401 || a.status === 403) ctx.out.note(`"${name}" needs its invoke token: --invoke-token T (saved automatically when deploy created it), or a token with the role invoker.`);
  else if (code === 'PAYLOAD_TOO_LARGE') ctx.out.note(`The body was refused before the function ran: a sync call takes up to 6 MiB (FP_MAX_BODY_BYTES), an async one 256 KiB; pass large data by reference (a URL, or the data binding) instead.`);
  else if (code === 'FUNCTION_TIMEOUT') {
    // Newcomer round 12: the error named the milliseconds, not the setting that gives more.
    ctx.out.note(`"${name}" ran past its limits.timeout: raise it in its platform.yaml (\`limits: {timeout: 2m}\`) and deploy; an --async call has the same limit.`);
    if (a.runId) ctx.out.note(`Details and its logs: ${selfCommandOf(ctx)} runs ${a.runId}`);
  } else if (a.runId && !refusedUpFront(a)) ctx.out.note(`Details, logs and the stack: ${selfCommandOf(ctx)} runs ${a.runId}`);
}

export const invokeCommand: Command = {
  name: 'invoke',
  summary: 'call a function and show status, duration, cold/warm, run id and body',
  usage: 'invoke <name> [--data JSON | --file F | -] [--method M] [--path P] [--header K:V]... [--query K=V]... [--test | --async [--wait] [--idempotency-key K]] [--invoke-token T] [--include] [--output FILE]',
  examples: [
    'invoke my-fn --file payload.json',
    'invoke my-fn -d \'{"name": "Ada"}\'',
    'invoke my-fn --query name=Ada -H \'X-Trace: 1\'',
    'invoke my-fn --async --wait -d \'{}\'',
  ],
  details: [
    "In a function's folder (platform.yaml with name: in the current directory) the name may be left out.",
    'A route of a FastAPI app: `invoke shop --path /items/1 -q limit=5` calls <url>/fn/shop/items/1?limit=5.',
    'Calls <url>/fn/<key><path> directly, as any client would (the key is <name> in the default',
    'workspace, <name>.<workspace> in another); with --test, runs the payload through the control',
    'plane\'s test-invoke endpoint instead (needs an invoker token). `-` reads the body from stdin;',
    'without a body option, a file on stdin (`< payload.json`) is the body too (a pipe needs the `-`).',
    'The method defaults to POST with a body, GET without. A token-mode function is called with',
    '--invoke-token, else the token deploy saved when it created the function, else the API token',
    'in use (a workspace token with the role invoker or above, or the admin token).',
    'Exit 0 when the answer is below 400; 4 when the platform refused the call (not found, paused, a',
    'token, a limit), 1 when the function answered the error status or failed (the body is printed',
    'either way). --json: on failure `error: {code, message, exitCode, status}` too (docs/cli.md).',
    'With --async, queues the call at <url>/async/<name><path> and prints the run id; --wait then',
    'polls the run until it is final and shows its state, attempts and result (exit 0 if succeeded).',
    'A streamed answer (text/event-stream, or chunked text that is not JSON: a StreamingResponse) is',
    'printed as it arrives, the summary line after its end; --output writes the body as it arrives.',
  ].join('\n'),
  options: {
    data: { type: 'string', short: 'd', value: 'BODY', description: 'request body (JSON gets content-type application/json); @FILE reads it from FILE, @- from stdin, as curl does' },
    file: { type: 'string', short: 'f', value: 'FILE', description: 'request body from a file' },
    method: { type: 'string', short: 'X', value: 'METHOD', description: 'HTTP method (default GET, or POST with a body)' },
    path: { type: 'string', short: 'p', value: 'PATH', description: 'path (and ?query) after /fn/<name> (default /)' },
    header: { type: 'string', short: 'H', value: 'K:V', multiple: true, description: 'request header' },
    query: { type: 'string', short: 'q', value: 'K=V', multiple: true, description: 'query parameter, URL-encoded for you (added to --path\'s query)' },
    test: { type: 'boolean', description: 'use the test-invoke endpoint of the API' },
    async: { type: 'boolean', description: 'queue the call as an async run and print its run id' },
    wait: { type: 'boolean', description: 'with --async: wait until the run is final and show its result' },
    'idempotency-key': { type: 'string', value: 'KEY', description: 'with --async: the same key and request within 24 h return the same run; another request with it fails (IDEMPOTENCY_KEY_REUSED)' },
    'invoke-token': { type: 'string', value: 'TOKEN', description: 'invoke token of a token-mode function' },
    include: { type: 'boolean', short: 'i', description: 'also print the response headers' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'write the response body to FILE (with --async, the result\'s: needs --wait)' },
  },
  run,
};
