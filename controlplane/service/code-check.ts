/**
 * The API's code check (`POST /api/v1/validate`, docs/api.md "Validation"): the same checks as
 * `fastapi-platform validate` (protocol/code-checks.ts and runtime/validate.py), on files sent as
 * text. The files are written to a private temporary folder (mode 0700, removed after), checked by
 * the runtime's Python with hard CPU and memory limits and a wall-clock deadline; validate.py only
 * compiles and walks the syntax tree, it never imports or runs the code. At most `concurrency`
 * checks run at once and `queue` more wait; past that VALIDATION_BUSY, never an unbounded queue.
 * Shared by every workspace, so each holds a share (red team round 5 of 2026-12-05): at most
 * `perWorkspace` checks in hand (running or waiting), and never every slot: one is always left to
 * the other workspaces (with the default two slots, a workspace runs one check at a time).
 * With `box` (the pool's sandbox mode, root or userns) each check runs in a box like a runtime's
 * (validate.py `--box`: namespaces, no network, a private read-only root without the state
 * directory, the builder's uid, a cgroup leaf with memory and tasks limits; loose ends round 11,
 * ADR 0248 amended): code anyone with a token sends is never parsed with the platform's privileges.
 * Each slot's checks go to a warmed checker in its box (./check-zygote.ts), which forks a child per
 * check; one that failed is started again, and its check runs in a box spawned for it.
 * Before, one `deployer` token kept all ten places with checks of 1 MiB of code (~5 s each), and
 * every other workspace's check, the console's Deploy included, was refused VALIDATION_BUSY.
 * Without a box (the Kubernetes host `pod`, `--unsafe-no-sandbox`) the check is sealed instead
 * (validate.py `--sealed`, ADR 0232): its rlimits, its deadline, and a seccomp filter without sockets,
 * new processes or exec.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { dirname, join } from 'node:path';
import {
  ANY_ENV,
  entrypointToCheck,
  MANIFEST_FILE,
  OUT_OF_FILES_MESSAGE,
  PlatformError,
  spawnedWithoutFds,
  readManifestText,
  reportProblems,
  type LimitCeilings,
  type Problem,
  type PyReport,
  type TriggerShape,
} from '../../protocol/index.js';
import { checkPathSet, normalizeBundlePath } from '../bundles/index.js';
import { checkFolderPrefix, removeStaleCheckFolders } from './check-folders.js';
import { BOX_DIR, boxFor, CheckerDied, CheckZygote, type CheckBox } from './check-zygote.js';

const MIB = 1024 * 1024;
/** A report longer than this is not one (the check's output cap). */
const MAX_REPORT_BYTES = 4 * MIB;

export interface CodeCheckSettings {
  /** The runtime's interpreter (what runs the functions). */
  python: string;
  /** runtime/validate.py */
  script: string;
  /** Checks running at once (default 2) and waiting (default 8). */
  concurrency?: number;
  queue?: number;
  /** Checks one workspace may have running or waiting (default 4: half the queue; a team's editors and a Deploy at once). */
  perWorkspace?: number;
  /** Wall-clock limit of one check (default 10 s) and its CPU and memory limits. */
  timeoutMs?: number;
  maxMemoryMb?: number;
  /** The box of each check; absent, or mode `off` / `pod`: the check runs unboxed (the CLI's way). */
  box?: CheckBox;
}

export interface CodeCheckResult {
  ok: boolean;
  problems: Problem[];
  warnings: Problem[];
  entrypoint: { value: string; file: string | null; line: number | null; kind: string | null };
  manifest: unknown;
  python: { version: string; checked: number };
}

/** A file to check: its text (`POST /validate`) or its bytes (a version's file). */
export interface CodeFile {
  path: string;
  content: string | Uint8Array;
}

/** A check waiting for a slot, and its workspace's. */
interface Waiter {
  workspace: string;
  start: () => void;
}

export class CodeChecker {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  /** Per workspace: checks running, and in hand (running or waiting). Entries go at zero. */
  private readonly runningOf = new Map<string, number>();
  private readonly heldOf = new Map<string, number>();
  /** Warmed checkers not running a check (boxed checks only; at most `concurrency` are made). */
  private readonly idle: CheckZygote[] = [];
  /** Names each check's folder in its zygote's. */
  private checks = 0;

  constructor(
    private readonly settings: CodeCheckSettings,
    private readonly log: (line: string) => void,
  ) {
    // A platform killed outright left its checks' folders (./check-folders.ts): those of a process gone go now.
    const stale = removeStaleCheckFolders(tmpdir());
    if (stale.length > 0) log(`validate: removed ${stale.length} check folder(s) of a platform process that is gone: ${stale.slice(0, 5).join(', ')}`);
  }

  /**
   * Checks `files` (paths as in a bundle) for `workspace` (whose share of the checks it takes);
   * `entrypoint` is used when there is no platform.yaml.
   */
  async check(workspace: string, sent: readonly CodeFile[], entrypoint?: string, ceilings?: LimitCeilings, options: { wait?: boolean } = {}): Promise<CodeCheckResult> {
    // The bundle's path rules (a path that escapes, a duplicate…): the same 400s as an upload.
    const paths = sent.map((f, i) => ({ path: normalizeBundlePath(f.path, `files[${i}].path`), raw: f.path, field: `files[${i}].path` }));
    checkPathSet(paths);
    const files = sent.map((f, i) => ({ path: paths[i]!.path, content: f.content }));
    const problems: Problem[] = [];
    const manifestFile = files.find((f) => f.path === MANIFEST_FILE);
    const manifestText = manifestFile === undefined ? undefined : typeof manifestFile.content === 'string' ? manifestFile.content : Buffer.from(manifestFile.content).toString('utf8');
    let manifest: unknown = null;
    let entry = entrypoint ?? 'main:handler';
    let limits: { concurrency: number; maxInstances: number; timeoutMs: number } | null = null;
    let triggers: readonly TriggerShape[] | null = null;
    let env: string[] = [];
    if (manifestText !== undefined) {
      const read = await readManifestText(manifestText, ANY_ENV, MANIFEST_FILE, ceilings !== undefined ? { ceilings } : {});
      problems.push(...read.problems);
      manifest = read.problems.some((p) => p.kind === 'yaml') ? null : read.raw;
      entry = entrypointToCheck(read);
      limits = read.manifest?.limits ?? null;
      triggers = read.manifest?.triggers ?? null;
      env = Object.keys(read.manifest?.env ?? {});
    }
    const report = await this.withSlot(workspace, () => this.runPython(files, entry), options.wait !== false);
    const found = reportProblems(report, limits, triggers, env);
    problems.push(...found.problems);
    return {
      ok: problems.length === 0,
      problems: problems.map(clean),
      warnings: found.warnings.map(clean),
      entrypoint: { value: entry, file: report.entrypoint.file, line: report.entrypoint.line, kind: report.entrypoint.kind },
      manifest,
      python: { version: report.python, checked: report.checked },
    };
  }

  /** Whether a check of `workspace` would start at once (none waiting for a slot). */
  startsNow(workspace: string): boolean {
    return (this.heldOf.get(workspace) ?? 0) < (this.settings.perWorkspace ?? 4) && this.running < (this.settings.concurrency ?? 2) && this.mayRun(workspace);
  }

  /** Runs `work` in a slot of `workspace`'s share; `wait` false: VALIDATION_BUSY unless one is free now. */
  private async withSlot<T>(workspace: string, work: () => Promise<T>, wait = true): Promise<T> {
    if (!wait && !this.startsNow(workspace)) throw new PlatformError('VALIDATION_BUSY', 'no code check slot is free now');
    const held = this.heldOf.get(workspace) ?? 0;
    if (held >= (this.settings.perWorkspace ?? 4)) {
      throw new PlatformError('VALIDATION_BUSY', `workspace "${workspace}" has ${held} code checks running or waiting already; try again when one has answered`);
    }
    if (this.running >= (this.settings.concurrency ?? 2) || !this.mayRun(workspace)) {
      if (this.waiting.length >= (this.settings.queue ?? 8)) throw new PlatformError('VALIDATION_BUSY', 'too many code checks are running; try again in a moment');
      this.heldOf.set(workspace, held + 1);
      await new Promise<void>((start) => this.waiting.push({ workspace, start }));
    } else {
      this.heldOf.set(workspace, held + 1);
      this.begin(workspace);
    }
    try {
      return await work();
    } finally {
      this.end(workspace);
    }
  }

  /** Whether a workspace may start one more check: it never holds every slot. */
  private mayRun(workspace: string): boolean {
    return (this.runningOf.get(workspace) ?? 0) < Math.max(1, (this.settings.concurrency ?? 2) - 1);
  }

  private begin(workspace: string): void {
    this.running++;
    this.runningOf.set(workspace, (this.runningOf.get(workspace) ?? 0) + 1);
  }

  /** A check ended: its slot goes to the first waiter whose workspace may run one more (else it stays free). */
  private end(workspace: string): void {
    this.running--;
    count(this.runningOf, workspace, -1);
    count(this.heldOf, workspace, -1);
    if (this.running >= (this.settings.concurrency ?? 2)) return;
    const at = this.waiting.findIndex((w) => this.mayRun(w.workspace));
    if (at < 0) return;
    const [next] = this.waiting.splice(at, 1);
    this.begin(next!.workspace);
    next!.start();
  }

  private async runPython(files: readonly CodeFile[], entrypoint: string): Promise<PyReport> {
    if (this.boxed()) {
      // At most one zygote per slot: a slot's check takes an idle one or starts one.
      const zygote = this.idle.pop() ?? new CheckZygote(this.settings.python, this.settings.script, this.settings.box!, this.memoryMb() * MIB, this.log);
      try {
        return await this.inZygote(zygote, files, entrypoint);
      } catch (err) {
        if (!(err instanceof CheckerDied)) throw err;
        // The checker failed, not the check: it is started again for the next, and this one runs in a box of its own.
      } finally {
        this.idle.push(zygote);
      }
    }
    // The files in `code/` of a private folder (0700): a box's uid reads them (0755 / 0644), nobody else reaches them.
    const top = await mkdtemp(checkFolderPrefix(tmpdir(), 'validate'));
    const dir = join(top, 'code');
    try {
      await writeFiles(dir, files, this.boxed());
      return await this.spawnCheck(dir, entrypoint, files.map((f) => f.path));
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  }

  /** One check in `zygote`, its files in a folder of their own there (removed after). */
  private async inZygote(zygote: CheckZygote, files: readonly CodeFile[], entrypoint: string): Promise<PyReport> {
    const name = String(++this.checks);
    const dir = join(zygote.codeDir, name);
    try {
      await writeFiles(dir, files, true);
      const timeoutMs = this.timeoutMs();
      const answer = await zygote.run({ dir: `${BOX_DIR}/${name}`, entrypoint, files: files.map((f) => f.path), cpu: this.cpuSeconds(), memoryMb: this.memoryMb(), timeoutMs, maxBytes: MAX_REPORT_BYTES });
      if (answer.report !== undefined) return answer.report;
      this.log(`validate: the check ${answer.error ?? 'failed'}`);
      throw new PlatformError('VALIDATION_UNAVAILABLE', 'the code check could not run; try again shortly');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Ends the warmed checkers (the platform is closing). */
  close(): void {
    for (const zygote of this.idle.splice(0)) zygote.close();
  }

  private timeoutMs(): number {
    return this.settings.timeoutMs ?? 10_000;
  }

  private cpuSeconds(): number {
    return Math.max(1, Math.ceil(this.timeoutMs() / 1000));
  }

  private memoryMb(): number {
    return this.settings.maxMemoryMb ?? 512;
  }

  private boxed(): boolean {
    const mode = this.settings.box?.mode;
    return mode === 'root' || mode === 'userns';
  }

  private spawnCheck(dir: string, entrypoint: string, paths: readonly string[]): Promise<PyReport> {
    const { python, script } = this.settings;
    const timeoutMs = this.timeoutMs();
    const cpu = String(this.cpuSeconds());
    const memory = String(this.memoryMb());
    return new Promise((resolve, reject) => {
      const fail = (why: string): void => {
        this.log(`validate: ${why}`);
        reject(new PlatformError('VALIDATION_UNAVAILABLE', 'the code check could not run; try again shortly'));
      };
      const box = this.boxed() ? boxFor(this.settings.box!, dir, this.memoryMb() * MIB, false) : null;
      let leaf = box?.leaf ?? null;
      const released = (): void => {
        if (leaf !== null) void this.settings.box!.cgroups!.release(leaf).catch(() => undefined);
        leaf = null;
      };
      // -I: isolated (no user site, no PYTHONPATH, no cwd on sys.path), as the runtime runs.
      // Boxed, killing the keeper (the timeout) ends the whole box (its PID namespace). Unboxed (the
      // Kubernetes host, --unsafe-no-sandbox), `--sealed` (ADR 0232): no socket, no new process, no
      // exec, no file written, 64 descriptors; so killing this one process (the timeout) ends the check.
      const child = spawn(python, ['-I', script, box === null ? dir : BOX_DIR, entrypoint, '--files-from', '-', '--max-cpu-seconds', cpu, '--max-memory-mb', memory, ...(box?.args ?? ['--sealed'])], {
        cwd: dir,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
        stdio: box === null ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'],
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
      });
      if (spawnedWithoutFds(child)) {
        released();
        reject(new PlatformError('PLATFORM_FILE_LIMIT', OUT_OF_FILES_MESSAGE));
        return;
      }
      (child.stdio[3] as Readable | undefined)?.on('error', () => undefined).resume();
      child.on('close', released);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      child.stdout.on('data', (b: Buffer) => {
        size += b.length;
        if (size <= MAX_REPORT_BYTES) out.push(b);
      });
      child.stderr.on('data', (b: Buffer) => {
        if (err.length < 64) err.push(b);
      });
      child.on('error', (e) => {
        released();
        fail(`cannot run ${python}: ${e.message}`);
      });
      child.stdin.on('error', () => undefined);
      child.on('close', (code, signal) => {
        if (code !== 0) {
          fail(`${script} ended with ${signal ?? code}: ${Buffer.concat(err).toString('utf8').slice(0, 500).trim()}`);
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as PyReport);
        } catch {
          fail(`${script} printed something that is not a report`);
        }
      });
      child.stdin.end(paths.map((p) => `${p}\n`).join(''));
    });
  }
}

/** Writes `files` under `dir` (made): readable by a box's uid when `shared` (its parent is private), else the platform's alone. */
async function writeFiles(dir: string, files: readonly CodeFile[], shared: boolean): Promise<void> {
  const open = shared ? { dir: 0o755, file: 0o644 } : { dir: 0o700, file: 0o600 };
  await mkdir(dir, { mode: open.dir });
  for (const f of files) {
    const target = join(dir, ...f.path.split('/'));
    await mkdir(dirname(target), { recursive: true, mode: open.dir });
    await writeFile(target, f.content, { mode: open.file });
  }
}

/** Drops absent optional keys and names a line's absence as null (the answer's shape). */
function clean(p: Problem): Problem & { line: number | null; column: number | null } {
  return {
    kind: p.kind,
    file: p.file,
    line: p.line ?? null,
    column: p.column ?? null,
    ...(p.path !== undefined && p.path !== '' ? { path: p.path } : {}),
    message: p.message,
  };
}

/** Adds `by` to a per-workspace count, dropping the entry at zero. */
function count(counts: Map<string, number>, workspace: string, by: number): void {
  const next = (counts.get(workspace) ?? 0) + by;
  if (next > 0) counts.set(workspace, next);
  else counts.delete(workspace);
}
