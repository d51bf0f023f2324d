/**
 * Runs one dependency build: runtime/deps_build.py in a box like a runtime's (docs/security.md,
 * "The dependency builder"), as the builder's own uid, with a network namespace whose only way
 * out is the egress proxy (proxy.ts), a time limit (the keeper is killed: the whole box goes)
 * and a size limit (the box's /tmp, the file size rlimit, the host's count before publishing).
 * Talks to the build over fd 3 (progress and the lock, JSON lines) and stdin (install or skip).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lchown, mkdir, mkdtemp, rm, statfs, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ERRORS, isDiskFull, OUT_OF_FILES_MESSAGE, PlatformError, spawnedWithoutFds, type ErrorCode } from '../../protocol/index.js';
import { adoptFontList, FONTS_TIMEOUT_MS, runFontBox, wantsFontList } from './fonts.js';
import { allowedTargets, startEgressProxy, type EgressProxy } from './proxy.js';
import { dropStaging, makeStaging, publish, usage, type Staging } from './site.js';
import { modulesFile, readModules, withModules } from './site-modules.js';
import { BUILD_TASKS, type BuildOutcome, type BuildPhase, type DepsOptions } from './types.js';

/**
 * Where the builder's box sees the build's folders (read-write site and work folder, the local
 * wheels and the index's CA read-only). Every one is a path the box keeps for itself (the work
 * folder and wheels under its own /run since new-user round 14: at /build and /wheels they hid a
 * platform installed there):
 * runtime/fp_sandbox/install.py RESERVED lists them (a platform installed there is refused at start).
 */
export const BOX_SITE = '/deps';
export const BOX_WORK = '/run/fp-build';
export const BOX_WHEELS = '/run/fp-wheels';
export const BOX_CA = '/etc/fp-deps-ca.pem';

const LOG_TAIL_CHARS = 64 * 1024;
/** Of a line past LOG_TAIL_CHARS with no end yet, what stays for the next piece (longer than any index URL's user info). */
const PARTIAL_KEPT_CHARS = 1024;
const MIB = 1024 * 1024;
/** Names the cgroup leaves of each build. */
let builds = 0;
/** How often the host measures a running build's staging directories (on its own disk). */
const WATCH_MS = 250;
/** Entries a build may make in them (a large legitimate site has tens of thousands). */
const MAX_ENTRIES = 200_000;

/** The declaration files, by name (requirements.txt, pyproject.toml). */
export type BuildInput = Map<string, Buffer>;

export interface BuildRequest {
  input: BuildInput;
  /** Appended to the lock before hashing (the function's name when sdists are allowed: such sites are never shared). */
  scope: string | null;
  /** Aborting kills the build (the platform is closing). */
  signal?: AbortSignal;
  onPhase(phase: BuildPhase): void;
  /** The build's output as it comes. */
  onOutput?(text: string): void;
}

/**
 * Runs the build. Everything it says goes through the `credentialRedactor` made here: the log line
 * by line as it comes (`build`'s `note`, so the stored log too) and the error message. The index
 * URLs are on pip's command line in the box, and what runs there (pip reading a smuggled
 * `-r /proc/self/cmdline`, red team of 2026-12-05, second round; a build script, sdists allowed) can print them.
 */
export async function runBuild(opts: DepsOptions, request: BuildRequest): Promise<BuildOutcome> {
  const redact = credentialRedactor([opts.indexUrl, ...opts.extraIndexUrls]);
  const outcome = await build(opts, request, redact);
  return outcome.error === null ? outcome : { ...outcome, error: { ...outcome.error, message: redact(outcome.error.message) } };
}

/**
 * Hides credentials in build output: the password of any `scheme://user:password@` (pip's own
 * `****`), and the user info of the platform's index URLs (a password, or a token as the user
 * name) wherever it shows, decoded or not.
 * Works on whole lines; a chunk cut inside a URL is not matched, so the caller feeds it lines.
 */
export function credentialRedactor(urls: readonly (string | null)[]): (text: string) => string {
  const secrets = new Set<string>();
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url ?? '');
    } catch {
      continue;
    }
    // `https://TOKEN@host/simple`: a user name with no password is the secret itself.
    const userInfo = parsed.password === '' ? [parsed.username] : [parsed.password, `${parsed.username}:${parsed.password}`];
    for (const secret of userInfo) {
      if (secret.length < 4) continue; // a one-letter "password" would star every such letter of the log
      secrets.add(secret);
      try {
        secrets.add(decodeURIComponent(secret));
      } catch {
        // not percent-encoded validly: the raw form is enough
      }
    }
  }
  const known = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    // Anchored on `://`, the user info bounded by `/`, `@` and whitespace: linear on any text.
    let out = text.replace(/:\/\/([^\s/@:]*):([^\s/@]*)@/g, '://$1:****@');
    for (const secret of known) out = out.split(secret).join('****');
    return out;
  };
}

/**
 * What the build prints, redacted whole lines at a time (runBuild), to `emit`; `end` lets out the
 * rest. A line that never ends (a build script printing without newlines) is let out past
 * LOG_TAIL_CHARS but its last KiB, so a credential cut there is still whole when matched, and what
 * waits here stays bounded.
 */
export function redactedLines(redact: (text: string) => string, emit: (clean: string) => void): (text: string, end?: boolean) => void {
  let partial = '';
  return (text, end = false) => {
    const whole = partial + text;
    let upTo = end ? whole.length : whole.lastIndexOf('\n') + 1;
    if (upTo === 0 && whole.length > LOG_TAIL_CHARS) upTo = whole.length - PARTIAL_KEPT_CHARS;
    partial = whole.slice(upTo);
    if (upTo > 0) emit(redact(whole.slice(0, upTo)));
  };
}

async function build(opts: DepsOptions, request: BuildRequest, redact: (text: string) => string): Promise<BuildOutcome> {
  if (opts.sandbox === 'pod') {
    return failed('DEPS_BUILD_FAILED', 'per-function dependencies are not available on the Kubernetes runtime host yet: install them into the runtime image (docs/kubernetes.md)', '');
  }
  const boxed = opts.sandbox !== 'off';
  const staging = await makeStaging(opts.root, randomBytes(6).toString('hex'), opts.sandbox === 'root' ? opts.builderUid : null);
  let log = '';
  const note = redactedLines(redact, (clean) => {
    log = (log + clean).slice(-LOG_TAIL_CHARS);
    request.onOutput?.(clean);
  });
  let proxy: EgressProxy | null = null;
  // pip reports an index it could not reach through a proxy as "no matching distribution": the proxy knows better.
  let unreachable: string | null = null;
  try {
    for (const [name, data] of request.input) {
      // `name` is a version path (no `..`, checked at upload): a -r/-c file may be in a folder.
      const path = join(staging.work, 'input', name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, data);
    }
    const indexes = [...(opts.indexUrl !== null ? [opts.indexUrl] : []), ...opts.extraIndexUrls];
    if (boxed && indexes.length > 0) {
      // In the build's work folder, which the box sees at BOX_WORK; listened on through a short link
      // when that folder's path is too long for a Unix socket (`viaShortPath`).
      proxy = await viaShortPath(staging.work, 'proxy.sock', (socket) => startEgressProxy(socket, allowedTargets(indexes, opts.allowHosts), (line) => {
        unreachable ??= line;
        note(`${line}\n`);
      }));
    }
    const ca = opts.caFile !== null && existsSync(opts.caFile) ? opts.caFile : null;
    // The index URLs (a private index's user and password) go in the environment, which only the
    // platform's uid reads, never on a command line: /proc/<pid>/cmdline is every local user's
    // (`ps -eo args`), for as long as the build runs (red team round 27).
    const indexEnv = JSON.stringify({ indexUrl: opts.indexUrl, extraIndexUrls: opts.extraIndexUrls });
    const spec = {
      site: boxed ? BOX_SITE : staging.site,
      work: boxed ? BOX_WORK : staging.work,
      findLinks: opts.findLinks === null ? null : boxed ? BOX_WHEELS : opts.findLinks,
      allowSdist: opts.allowSdist,
      cert: ca === null ? null : boxed ? BOX_CA : ca,
      proxy: proxy === null ? null : `${BOX_WORK}/proxy.sock`,
      maxBytes: opts.maxBytes,
    };
    const args = ['-I', join(opts.runtimeDir, 'deps_build.py'), '--build', JSON.stringify(spec)];
    // One leaf for the whole box (without it each of a build script's processes had the address-space
    // limit: 1024 × 2 GiB in all): one pip process at that limit and a full /tmp (tmpfs pages count).
    const cgroups = boxed ? opts.cgroups : null;
    const leaf = `b${++builds}`;
    const procs = cgroups?.forBuild(leaf, opts.memoryBytes + builderTmpBytes(opts)) ?? [];
    if (boxed) args.push('--box', JSON.stringify(boxConfig(opts, staging, ca, procs)));
    let ran: ProcessOutcome;
    const watch = boxed ? watchStaging(staging, opts.maxBytes, request.signal) : null;
    try {
      ran = await runProcess(opts, args, { ...request, ...(watch !== null ? { signal: watch.signal } : {}) }, note, indexEnv);
    } finally {
      note('', true);
      watch?.stop();
      await cgroups?.release(leaf);
      await reclaim(opts, [staging.site, staging.work]);
    }
    const over = watch?.over ?? null;
    if (over !== null) return failed('DEPS_TOO_LARGE', `the build wrote ${over} into its staging directories (at most ${2 * opts.maxBytes} bytes and ${MAX_ENTRIES} entries while it runs)`, log);
    // pip says "No space left on device" (DEPS_TOO_LARGE) for its box's capped /tmp and for the host's disk alike.
    if (ran.error?.code === 'DEPS_TOO_LARGE' && await diskFull(staging.site)) return failed('STORAGE_FULL', NO_SPACE_MESSAGE, log);
    const outcome = ran.error?.code === 'DEPS_NOT_FOUND' && unreachable !== null
      ? { ...ran, error: { code: 'DEPS_INDEX_UNREACHABLE' as const, message: `the package index could not be reached (${unreachable})\n${ran.error.message}` } }
      : ran;
    if (!outcome.ok || outcome.lock === null || outcome.packages.length === 0) return { ...outcome, log };
    // The same resolution was installed before: this build's site is that one, and its size too
    // (it was 0 B: deploy printed "11 installed (0 B)", and a workspace's quota counted a shared
    // site as 0 when this record came last; newcomer round 12).
    if (outcome.skipped) {
      const shared = join(opts.root, outcome.lock);
      return { ...outcome, packages: withModules(outcome.packages, await readModules(shared)), bytes: (await usage(join(shared, 'site'))).bytes, log };
    }
    const { bytes } = await usage(staging.site);
    if (bytes > opts.maxBytes) return failed('DEPS_TOO_LARGE', `the installed dependencies take ${bytes} bytes, over the limit of ${opts.maxBytes}`, log);
    if (boxed && wantsFontList(staging.site)) await fontList(opts, staging, request.signal, note);
    await publish(opts.root, staging, outcome.lock, outcome.lockText, modulesFile(outcome.packages));
    return { ...outcome, bytes, log };
  } catch (err) {
    if (isDiskFull(err)) return failed('STORAGE_FULL', NO_SPACE_MESSAGE, log);
    return failed('DEPS_BUILD_FAILED', `the dependency build could not run: ${(err as Error).message}`, log);
  } finally {
    await proxy?.close();
    await dropStaging(staging);
  }
}

/**
 * Measures a running build's staging directories (the site and the work folder, bound writable
 * into the box from the host's disk) and kills the build (its returned signal aborts) once they
 * hold more than twice `maxBytes` or MAX_ENTRIES entries. pip unpacks into the box's capped /tmp
 * first, but a build script (sdists allowed) writes where it likes: without this it could fill
 * the disk until the time limit. Overshoot: what it writes in WATCH_MS. A walk that fails (an
 * entry the platform may not read) ends the build too.
 */
function watchStaging(staging: { site: string; work: string }, maxBytes: number, outer: AbortSignal | undefined): { signal: AbortSignal; over: string | null; stop(): void } {
  const abort = new AbortController();
  const stopOuter = (): void => abort.abort();
  outer?.addEventListener('abort', stopOuter, { once: true });
  let measuring = false;
  const state = {
    signal: abort.signal,
    over: null as string | null,
    stop: (): void => {
      clearInterval(timer);
      outer?.removeEventListener('abort', stopOuter);
    },
  };
  const timer = setInterval(() => {
    if (measuring || abort.signal.aborted) return;
    measuring = true;
    void Promise.all([usage(staging.site), usage(staging.work)]).then(([site, work]) => {
      const bytes = site.bytes + work.bytes;
      const entries = site.entries + work.entries;
      if (bytes > 2 * maxBytes || entries > MAX_ENTRIES) {
        state.over = `${bytes} bytes in ${entries} entries`;
        abort.abort();
      }
    }, (err: NodeJS.ErrnoException) => { // fail closed: a tree it cannot measure is one it cannot bound
      // The code only: the message names host paths, and the deployer (a tenant) reads this.
      state.over = `what it cannot measure (${err.code ?? 'unreadable'})`;
      abort.abort();
    }).finally(() => {
      measuring = false;
    });
  }, WATCH_MS);
  return state;
}

/**
 * matplotlib's font list for the site (fonts.ts, ADR 0108): a box of its own where the site is
 * read-only and an empty folder of this build the only writable place; the list it leaves is
 * checked and copied into the site by the host.
 */
async function fontList(opts: DepsOptions, staging: Staging, signal: AbortSignal | undefined, note: (text: string) => void): Promise<void> {
  const out = join(staging.dir, 'fonts');
  await mkdir(out, { mode: 0o700 });
  if (opts.sandbox === 'root') await lchown(out, opts.builderUid, opts.builderUid);
  const leaf = `f${++builds}`;
  const procs = opts.cgroups?.forBuild(leaf, opts.memoryBytes + builderTmpBytes(opts)) ?? [];
  const box = boxConfig(opts, { site: staging.site, work: out }, null, procs, false);
  const args = ['-I', join(opts.runtimeDir, 'deps_build.py'), '--fonts', JSON.stringify({ site: BOX_SITE, out: BOX_WORK }), '--box', JSON.stringify(box)];
  // Its folder is on the state directory's disk: bounded as a build's staging directories are.
  const watch = watchStaging({ site: staging.site, work: out }, opts.maxBytes, signal);
  try {
    await runFontBox({ pythonPath: opts.pythonPath, args, env: { PATH: opts.path, LANG: 'C.UTF-8', HOME: '/tmp' }, timeoutMs: Math.min(FONTS_TIMEOUT_MS, opts.timeoutMs), signal: watch.signal }, note);
  } finally {
    watch.stop();
    await opts.cgroups?.release(leaf);
    await reclaim(opts, [out]);
  }
  // The box is gone (its PID namespace with its keeper): nothing changes `out` any more.
  const fonts = watch.over === null ? await adoptFontList(out, staging.site) : 0;
  note(fonts > 0 ? `matplotlib's font list made once for this site (${fonts} fonts): cold starts read it instead of scanning the fonts\n` : 'matplotlib\'s font list was not made: each cold start scans the fonts\n');
}

/** The builder box's /tmp: downloads and pip's temporary install both live there before the site gets them. */
function builderTmpBytes(opts: DepsOptions): number {
  return 2 * opts.maxBytes + 64 * MIB;
}

/**
 * RLIMIT_NPROC of a build whose cgroup leaf bounds its tasks (root mode). The kernel counts it per
 * host uid, and every build has the one builder uid (FP_DEPS_BUILDER_UID; other platforms on the
 * host too, by default): at BUILD_TASKS, one build script holding its 1024 tasks left every other
 * build (another workspace's, FP_DEPS_CONCURRENCY > 1) no process to start, pip failed with EAGAIN
 * (red team round 13; deps-builder-limits). The leaf holds each build to BUILD_TASKS; this only
 * keeps the uid's count from coupling builds (64 of them at once, the most FP_DEPS_CONCURRENCY allows).
 */
const SHARED_UID_TASKS = 64 * BUILD_TASKS;

function boxConfig(opts: DepsOptions, staging: { site: string; work: string }, ca: string | null, cgroupJoin: string[], siteWritable = true): Record<string, unknown> {
  const binds = [
    { src: staging.site, dst: BOX_SITE, rw: siteWritable },
    { src: staging.work, dst: BOX_WORK, rw: true },
    ...(opts.findLinks !== null ? [{ src: opts.findLinks, dst: BOX_WHEELS }] : []),
    ...(ca !== null ? [{ src: ca, dst: BOX_CA }] : []),
  ];
  return {
    mode: opts.sandbox,
    tmpBytes: builderTmpBytes(opts),
    cgroupJoin,
    net: 'none',
    binds,
    uid: opts.builderUid,
    gid: opts.builderUid,
    ...(opts.sandbox === 'userns' && opts.idmap ? { idmap: opts.idmap } : {}),
    rlimits: { nofile: 1024, nproc: cgroupJoin.length > 0 ? SHARED_UID_TASKS : BUILD_TASKS, fsize: opts.maxBytes, core: 0, as: opts.memoryBytes },
  };
}

/**
 * Gives what a build box under a subordinate uid left in `dirs` back to the platform's uid
 * (runtime/deps_build.py `--reclaim`: a user namespace mapped as the box's, where it may chown
 * both ids; ADR 0147). The platform itself may not: without it, it could neither freeze the site
 * (publish) nor remove the staging directories. Run once the box is gone (its PID namespace ended
 * with its keeper), so nothing of the build changes the trees meanwhile. Nothing to do without
 * such a map (root mode: the platform is root).
 */
export async function reclaim(opts: DepsOptions, dirs: string[]): Promise<void> {
  if (opts.sandbox !== 'userns' || !opts.idmap) return;
  const there = dirs.filter((dir) => existsSync(dir));
  if (there.length === 0) return;
  const args = ['-I', join(opts.runtimeDir, 'deps_build.py'), '--reclaim', JSON.stringify({ dirs: there, idmap: opts.idmap })];
  const child = spawn(opts.pythonPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: opts.path, LANG: 'C.UTF-8' } });
  if (spawnedWithoutFds(child)) throw new PlatformError('PLATFORM_FILE_LIMIT', OUT_OF_FILES_MESSAGE);
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { err = (err + s).slice(-4096); });
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`could not give the build's files back to the platform's uid: ${err.trim().split('\n').pop() ?? code}`);
}

type ProcessOutcome = Omit<BuildOutcome, 'log'> & { lockText: string };

/** `indexes`: the build's index URLs as JSON, handed over in the environment (runtime/deps_build.py `FP_DEPS_INDEXES`). */
function runProcess(opts: DepsOptions, args: string[], request: BuildRequest, note: (text: string) => void, indexes: string): Promise<ProcessOutcome> {
  return new Promise((resolve) => {
    const child = spawn(opts.pythonPath, args, {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: { PATH: opts.path, LANG: 'C.UTF-8', HOME: '/tmp', FP_DEPS_INDEXES: indexes },
      // Unboxed, pip's children must die with the build: a process group to kill.
      detached: opts.sandbox === 'off',
    });
    if (spawnedWithoutFds(child)) {
      // The platform at its open-files limit: no pipes, nothing built; tried again at the next deploy (service.ts).
      resolve({ ...failed('PLATFORM_FILE_LIMIT', OUT_OF_FILES_MESSAGE, ''), lockText: '' });
      return;
    }
    const kill = (): void => {
      try {
        if (opts.sandbox === 'off' && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    };
    let result: ProcessOutcome | null = null;
    let lockText = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    request.signal?.addEventListener('abort', kill, { once: true });
    child.stdout.setEncoding('utf8').on('data', note);
    child.stderr.setEncoding('utf8').on('data', note);
    child.stdin.on('error', () => undefined);
    lines(child.stdio[3] as Readable, (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (msg['t'] === 'phase' && typeof msg['phase'] === 'string') request.onPhase(msg['phase'] as BuildPhase);
      else if (msg['t'] === 'lock' && typeof msg['text'] === 'string') {
        lockText = msg['text'];
        const lock = lockKey(lockText, request.scope);
        const packages = Array.isArray(msg['packages']) ? (msg['packages'] as { name: string; version: string }[]).map((p) => ({ name: String(p.name), version: String(p.version) })) : [];
        result = { ok: true, lock, lockText, packages, bytes: 0, skipped: false, error: null };
        // The same resolution was installed before (by any function): share it.
        const skip = packages.length === 0 || existsSync(join(opts.root, lock, 'site'));
        child.stdin.end(skip ? 'skip\n' : 'install\n');
      } else if (msg['t'] === 'done' && result !== null) {
        result = { ...result, packages: withModules(result.packages, msg['modules']), skipped: msg['skipped'] === true, bytes: Number(msg['bytes']) || 0 };
      } else if (msg['t'] === 'failed') {
        const code = typeof msg['code'] === 'string' && msg['code'].startsWith('DEPS_') && msg['code'] in ERRORS ? msg['code'] as ErrorCode : 'DEPS_BUILD_FAILED';
        result = { ok: false, lock: null, lockText, packages: [], bytes: 0, skipped: false, error: { code, message: String(msg['message'] ?? '') } };
      }
    });
    child.on('error', (err) => note(`could not start ${opts.pythonPath}: ${err.message}\n`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ ...failed('DEPS_BUILD_TIMEOUT', `the dependency build did not finish within ${Math.round(opts.timeoutMs / 1000)} s`, ''), lockText });
      else if (result !== null && (result.ok ? code === 0 : true)) resolve(result);
      else resolve({ ...failed('DEPS_BUILD_FAILED', `the dependency builder exited with ${signal ?? code} (see the build log)`, ''), lockText });
    });
  });
}

/** sha256 of the lock (with the scope when the site must not be shared): the site's directory name. */
export function lockKey(lockText: string, scope: string | null): string {
  return createHash('sha256').update(scope === null ? lockText : `${lockText}# scope: ${scope}\n`).digest('hex');
}

/**
 * A build that ran out of space on the state directory's disk (reliability round 9): it was
 * DEPS_TOO_LARGE (413, "drop packages or raise FP_DEPS_MAX_BYTES") with pip's traceback, or
 * DEPS_BUILD_FAILED "ENOSPC", though nothing of the declaration was wrong. Such a failure is built
 * again by the next deploy (service.ts), once space is back.
 */
const NO_SPACE_MESSAGE = "the platform's state directory has no space left for the dependency build: nothing was installed; free space on its disk (or ask the operator to), then deploy again";

/** Free space on the disk under a build's site below which its "No space left on device" is that disk's. */
const DISK_FULL_BYTES = 16 * 1024 * 1024;

async function diskFull(path: string): Promise<boolean> {
  try {
    const fs = await statfs(path);
    return fs.bavail * fs.bsize < DISK_FULL_BYTES;
  } catch {
    return false;
  }
}

function failed(code: ErrorCode, message: string, log: string): BuildOutcome {
  return { ok: false, lock: null, packages: [], bytes: 0, skipped: false, error: { code, message }, log };
}

function lines(stream: Readable, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, at));
      buffer = buffer.slice(at + 1);
    }
  });
  stream.on('error', () => undefined);
}

/** A Unix socket path holds 107 bytes (sun_path is 108, a NUL last). */
const UNIX_SOCKET_PATH_MAX = 107;

/**
 * Runs `listen` on `<folder>/<name>`, or, when that path is too long for a Unix socket, on the same
 * name through a private link to `folder` (a 0700 folder of TMPDIR, removed once it listens): the
 * socket is made in `folder` all the same, where the box sees it. A deps root of ~70 bytes (dev's
 * cache under a long HOME) failed every boxed build with an index; new-user round 14's start check
 * then refused such a root outright, `dev` included (CI on a clone at /check/work/main).
 */
export async function viaShortPath<T>(folder: string, name: string, listen: (socket: string) => Promise<T>): Promise<T> {
  const socket = join(folder, name);
  if (Buffer.byteLength(socket) <= UNIX_SOCKET_PATH_MAX) return listen(socket);
  const top = await mkdtemp(join(tmpdir(), 'fp-sock-'));
  try {
    await symlink(folder, join(top, 'd'));
    return await listen(join(top, 'd', name));
  } finally {
    await rm(top, { recursive: true, force: true });
  }
}
