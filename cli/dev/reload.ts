/**
 * `dev`'s reload: the folder goes through the preflight `validate` runs (cli/preflight.ts), then
 * the deploy flow `deploy` runs (cli/deploy-flow.ts) against the platform `dev` serves from. A
 * save that breaks validation, or that the platform refuses, deploys nothing: the last good
 * version keeps serving and the problems are printed with file and line. Reloads never overlap;
 * saves during one are folded into one more.
 *
 * With `dotenv` (the embedded platform), the folder's .env values go to the function as secrets
 * (they win over platform.yaml's env of the same name, as a secret does on a platform) and
 * resolve `${VAR}` references in platform.yaml before the shell's environment does.
 */
import type { ApiClient } from '../client.js';
import type { Context } from '../context.js';
import { deployFolder, describeSettingChanges, docsLine, type DeployResult } from '../deploy-flow.js';
import { readDotenv } from '../dotenv.js';
import { isCliError } from '../errors.js';
import { errorHint, loadReport } from '../start-check.js';
import { formatMs } from '../output.js';
import { formatProblem, preflight, type Problem } from '../preflight.js';
import { PythonChecker, pythonPath } from '../python.js';
import { selfCommandOf } from '../self-command.js';
import { clock } from './calls.js';
import { safeLines, terminalSafe } from '../terminal.js';

/** A value of the function's env (platform.yaml's `env`) or secrets (`.env`) that a variable of dev's shell filled. */
export interface FromShell { file: 'platform.yaml' | '.env'; key: string; from: string }

export type ReloadOutcome =
  | { kind: 'deployed'; result: DeployResult; envChanged: string[]; fromShell: FromShell[]; warnings: Problem[]; ms: number; docs?: string }
  | { kind: 'unchanged'; result: DeployResult; envChanged: string[]; fromShell: FromShell[]; warnings: Problem[]; ms: number; docs?: string }
  | { kind: 'invalid'; problems: Problem[]; ms: number }
  | { kind: 'refused'; code: string; message: string; ms: number; report: string[] };

export interface ReloaderOptions {
  dir: string;
  client: ApiClient;
  /** Read the folder's .env (the embedded platform only: its values never go anywhere else). */
  dotenv: boolean;
  /** After each reload (printing is done). */
  onOutcome?: (outcome: ReloadOutcome) => void;
}

export class Reloader {
  /** What serves now: the last version deployed or found unchanged. */
  serving: { function: string; version: number } | null = null;
  private running: Promise<void> | null = null;
  private pending: string[] | null = null;
  private stopped = false;
  /** The .env values the function has, as last sent (by function name). */
  private sent = new Map<string, Map<string, string>>();
  private shownUrls = '';
  /** The values from the shell last said (said again only when they change). */
  private shownShell = '';
  /** validate.py, kept running between reloads. */
  private readonly checker = new PythonChecker();

  constructor(private readonly ctx: Context, private readonly options: ReloaderOptions) {}

  /** Reloads now, or once the reload in progress ends (changes requested meanwhile are folded). */
  request(paths: string[]): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.pending = [...(this.pending ?? []), ...paths];
      return;
    }
    this.running = this.loop(paths);
  }

  /** Resolves when no reload is running or queued. */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /** Ctrl-C: saves not yet reloaded are dropped (no new deploy starts); then idle() waits only for the one in progress. */
  stop(): void {
    this.stopped = true;
    this.pending = null;
  }

  /** After idle(): ends the kept validate.py. */
  close(): void {
    this.checker.close();
  }

  private async loop(first: string[]): Promise<void> {
    let paths: string[] | null = first;
    while (paths !== null) {
      const outcome = await this.reload();
      this.print(outcome, paths);
      this.options.onOutcome?.(outcome);
      paths = this.pending;
      this.pending = null;
    }
    this.running = null;
  }

  /** One reload: preflight, then deploy; never throws. */
  async reload(): Promise<ReloadOutcome> {
    const started = performance.now();
    const ms = (): number => performance.now() - started;
    const { ctx, options } = this;
    try {
      const dotenv = options.dotenv ? await readDotenv(options.dir) : { values: {}, problems: [], present: false, fromEnvironment: [] };
      const env = { ...ctx.env.manifestEnv, ...dotenv.values };
      // The commands its problems name are spelled as this user runs the CLI, as `validate` spells them.
      const checked = await preflight(options.dir, pythonPath(ctx.env.python), env, { runPython: this.checker.check, selfCommand: selfCommandOf({ env: ctx.env, cwd: options.dir }), envNames: Object.keys(dotenv.values) });
      const problems: Problem[] = [...dotenv.problems.map((p): Problem => ({ kind: 'dotenv', file: p.file, line: p.line, message: p.message })), ...checked.problems];
      if (problems.length > 0) return { kind: 'invalid', problems, ms: ms() };
      const name = checked.manifest!.name;
      const before = this.sent.get(name) ?? new Map<string, string>();
      const secrets = secretsPatch(before, dotenv.values);
      // A dependency build (tens of seconds) says how far it is, as `deploy` does: dev was silent
      // for all of it, and calls meanwhile got FUNCTION_NOT_DEPLOYED (apps round of 2026-12-05).
      const deps = {
        progress: (line: string) => {
          ctx.out.event({ event: 'dependencies', progress: line });
          ctx.out.line(`${clock(Date.now())}  ${terminalSafe(line)} (the version serves once they are installed)`);
        },
        log: (text: string) => ctx.out.line(`${clock(Date.now())}  dependency build log (last lines):\n${text.split('\n').map((l) => `  ${terminalSafe(l)}`).join('\n')}`),
      };
      const result = await deployFolder(options.client, checked, { secrets, deps, ...(options.dotenv ? { devPlatform: true } : {}) });
      if (options.dotenv) this.sent.set(name, new Map(Object.entries(dotenv.values)));
      this.serving = { function: result.function, version: result.version };
      const envChanged = Object.keys(secrets).sort();
      // What the shell's variables put into the function (its code reads them, and may send them
      // anywhere): `deploy` says so, dev said nothing (red team round 11).
      const fromShell: FromShell[] = [
        ...result.envFromEnvironment.flatMap((e) => e.from.filter((n) => !e.unset.includes(n) && !(n in dotenv.values)).map((from): FromShell => ({ file: 'platform.yaml', key: e.key, from }))),
        ...dotenv.fromEnvironment.map(({ name, from }): FromShell => ({ file: '.env', key: name, from })),
      ];
      const docs = checked.python?.entrypoint.docs;
      return { kind: result.unchanged ? 'unchanged' : 'deployed', result, envChanged, fromShell, warnings: checked.warnings, ms: ms(), ...(docs !== undefined ? { docs } : {}) };
    } catch (err) {
      if (!isCliError(err)) return { kind: 'refused', code: 'INTERNAL_ERROR', message: (err as Error).stack ?? String(err), ms: ms(), report: [] };
      // A version whose code did not load: what its load printed and its traceback, under the line.
      // Then what deploy adds for an import it could not find, a write past the file cap or a refused
      // listen, and env the load lacked: as dev sets it (.env) on its own platform, as deploy does with
      // --remote (which sends no .env). dev showed the traceback alone (new-user round 3).
      const hint = err.code === 'DEPLOY_START_FAILED' ? errorHint(err.details, selfCommandOf(this.ctx), { dev: options.dotenv }) : null;
      return { kind: 'refused', code: err.code, message: safeLines(err.message), ms: ms(), report: [...loadReport(err), ...(hint !== null ? [hint] : [])] };
    }
  }

  private print(outcome: ReloadOutcome, paths: string[]): void {
    const { out } = this.ctx;
    const when = clock(Date.now());
    const serving = this.serving === null ? 'nothing deployed yet' : `still serving version ${this.serving.version}`;
    const changed = paths.filter((p) => p !== '.');
    switch (outcome.kind) {
      case 'deployed':
      case 'unchanged': {
        const r = outcome.result;
        out.event({
          event: outcome.kind === 'deployed' ? 'reloaded' : 'unchanged', function: r.function, version: r.version, previousVersion: r.previousVersion,
          changes: r.changes, envChanged: outcome.envChanged, envFromShell: outcome.fromShell, settingChanges: r.settingChanges, warnings: outcome.warnings, paths: changed, ms: outcome.ms, invokeUrl: r.invokeUrl, ...(r.hostUrl !== undefined ? { hostUrl: r.hostUrl } : {}), ...(r.asyncUrl !== undefined ? { asyncUrl: r.asyncUrl } : {}),
        });
        // Plain env comes from platform.yaml at each reload: a value set there since (env set, env
        // push) is removed; say so, or it vanishes unseen.
        const lost = r.settingChanges.removed.filter((p) => p.startsWith('env.')).map((p) => p.slice('env.'.length));
        const removed = lost.length > 0 ? `; removed env ${lost.join(', ')}: not in platform.yaml (\`env set --secret\` keeps a value across reloads)` : '';
        const env = (outcome.envChanged.length > 0 ? `; .env: ${outcome.envChanged.join(', ')}` : '') + removed;
        if (outcome.kind === 'deployed') {
          const { added, modified, removed } = r.changes;
          const files = [...added.map((p) => `+${p}`), ...modified.map((p) => `~${p}`), ...removed.map((p) => `-${p}`)];
          const what = files.length > 0 ? files.join(' ') : 'settings';
          out.line(`${when}  reloaded: "${r.function}" version ${r.version} (${what}${env}) in ${formatMs(outcome.ms)}`);
        } else if (outcome.envChanged.length > 0) {
          out.line(`${when}  reloaded: "${r.function}" version ${r.version}, env from .env changed (${outcome.envChanged.join(', ')}${removed}) in ${formatMs(outcome.ms)}`);
        } else if (r.settingsChanged.length > 0) {
          const c = r.settingChanges;
          const others = describeSettingChanges({ ...c, removed: c.removed.filter((p) => !p.startsWith('env.')) });
          out.line(`${when}  settings updated: "${r.function}" version ${r.version} (${others === '' ? removed.slice(2) : `${others}${removed}`}) in ${formatMs(outcome.ms)}`);
        } else {
          out.line(`${when}  no changes: "${r.function}" version ${r.version} is serving`);
        }
        // What `validate` and `deploy` warn of (an import no requirement provides fails every call):
        // the save deployed, but the next call may not work.
        for (const w of outcome.warnings) out.line(`  warning: ${formatProblem(w)}`);
        this.showShell(outcome.fromShell);
        this.showUrls(r, outcome.docs);
        return;
      }
      case 'invalid': {
        out.event({ event: 'invalid', problems: outcome.problems, serving: this.serving, paths: changed, ms: outcome.ms });
        const n = outcome.problems.length;
        out.line(`${when}  not reloaded (${serving}): ${n} problem${n === 1 ? '' : 's'}`);
        for (const p of outcome.problems) out.line(`  ${formatProblem(p)}`);
        return;
      }
      case 'refused':
        out.event({ event: 'refused', code: outcome.code, message: outcome.message, ...(outcome.report.length > 0 ? { load: outcome.report } : {}), serving: this.serving, paths: changed, ms: outcome.ms });
        // A message of several lines (a failed dependency build's pip errors) stays under its event
        // line, indented as the rest: its lines at column 0 read as events of their own.
        out.line(`${when}  not reloaded (${serving}): [${outcome.code}] ${outcome.message.split('\n').join('\n  ')}`);
        for (const line of outcome.report) out.line(`  ${line}`);
    }
  }

  /**
   * The shell's variables that went into the function, when first seen or changed (text only: the
   * events carry them). A folder from elsewhere (a clone, a pull request) names any variable in
   * platform.yaml's env or .env, `${AWS_SECRET_ACCESS_KEY}`, and its code runs with the value.
   */
  private showShell(fromShell: readonly FromShell[]): void {
    const said = fromShell.map((f) => `${f.file === '.env' ? '.env ' : ''}${f.key} ← \${${f.from}}`).join(', ');
    if (said === this.shownShell) return;
    this.shownShell = said;
    if (said === '') return;
    this.ctx.out.line(`  note: ${terminalSafe(said, 16_384)}: taken from this shell's environment into the function, whose code reads ${fromShell.length === 1 ? 'it' : 'them'}; check platform.yaml's env and .env of a folder you did not write, or start dev with only the variables it needs (env -i PATH="$PATH" HOME="$HOME" …)`);
  }

  /** The function's URLs, when first known or changed (text only: the events carry them). */
  private showUrls(r: DeployResult, docs: string | undefined): void {
    const docsAt = docsLine(r.invokeUrl, { auth: r.auth, invocation: r.settings.invocation }, docs);
    const lines = [
      ...(r.settings.invocation !== 'async' ? [`  URL:   ${r.invokeUrl}`] : []),
      ...(docsAt !== null ? [`  ${docsAt.replace(/^Docs: /, 'docs:')}`] : []),
      ...(r.hostUrl !== undefined ? [`  host:  ${r.hostUrl}  (at / of its own host, as under uvicorn)`] : []),
      ...(r.asyncUrl !== undefined ? [`  async: ${r.asyncUrl}  (POST → 202 {runId})`] : []),
    ];
    const key = lines.join('\n');
    if (key === this.shownUrls) return;
    this.shownUrls = key;
    for (const line of lines) this.ctx.out.line(line);
  }
}

/** What to send so the function's secrets are `now`: changed and new values, null for removed names. */
export function secretsPatch(before: ReadonlyMap<string, string>, now: Readonly<Record<string, string>>): Record<string, string | null> {
  const patch: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(now)) if (before.get(name) !== value) patch[name] = value;
  for (const name of before.keys()) if (!(name in now)) patch[name] = null;
  return patch;
}
