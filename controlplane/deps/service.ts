/**
 * A version's dependencies (docs/dependencies.md): what it declares is keyed (the declaration
 * files' sha256 and the platform's build options), built once per key off the request path,
 * and installed once per lock into a content-addressed, read-only site shared by every function
 * and version that resolves the same way. State per key: `building` (in memory, with its phase),
 * then `ready` or `failed` (kept in `<root>/.inputs/<key>.json`, so a restart remembers).
 *
 * - An upload starts (or joins) its key's build and answers at once.
 * - A deploy needs the key ready: DEPS_NOT_READY while building, the build's own code (e.g.
 *   DEPS_NOT_FOUND) when it failed; the active version keeps serving either way.
 * - Every other path to serving (start-up, another process's deploy) waits for the build.
 * A failed key is built again by the next upload declaring the same thing, or on request.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEPS_BUILD_FAILED_LINE, oneLogLine, PlatformError, workspaceOfKey } from '../../protocol/index.js';
import type { BlobStore, FileEntry, VersionRecord } from '../store/index.js';
import { reclaim, runBuild, type BuildInput } from './builder.js';
import { checkRequirementsFile, depsClosure, depsFilesOf, type Include } from './requirements.js';
import { dropAllStaging, removeSite } from './site.js';
import type { BuildPhase, DepsOptions, DepsRecord, DepsStatus } from './types.js';

interface Running {
  phase: BuildPhase;
  startedAt: number;
  log: string;
  done: Promise<DepsRecord>;
  abort: AbortController;
}

const KEY = /^[0-9a-f]{64}$/;
/** A pending note's file and what it names (null: it does not parse). */
interface PendingNote {
  file: string;
  noted: { function: string; version: number } | null;
}
/** `.inputs/<key>.pending`: a build launched and not recorded yet (resumePending). */
const PENDING = '.pending';
/** Pending notes a start reads at most (each a version read from the store). */
const MAX_RESUMED_AT_START = 256;

export class DependencyBuilds {
  private readonly records = new Map<string, DepsRecord | null>();
  private readonly running = new Map<string, Running>();
  private readonly sites = new Map<string, string>();
  /** A requirements file's -r/-c lines, by kind, path and content (includesOf). */
  private readonly includeCache = new Map<string, Include[]>();
  private readonly fingerprint: string;
  private active = 0;
  /**
   * Builds waiting for a slot, per workspace; slots go to the workspaces in turn (round robin), so
   * one workspace's many builds cannot hold another's for as long as they all take. One queue for
   * every build let a tenant's eight versions (up to FP_DEPS_TIMEOUT_MS each) run before another
   * workspace's one (red team, December 2026).
   */
  private readonly queues = new Map<string, (() => void)[]>();

  /** `opts` null: this platform builds no dependencies (declaration files are plain files). */
  constructor(private readonly opts: DepsOptions | null, private readonly blobs: BlobStore, private readonly log: (line: string) => void) {
    const pins = opts === null ? '' : readFileSync(join(opts.runtimeDir, 'requirements.txt'), 'utf8');
    this.fingerprint = sha256(JSON.stringify(opts === null ? null : {
      v: 1, python: opts.pythonPath, pins, index: opts.indexUrl, extra: opts.extraIndexUrls, links: opts.findLinks, sdist: opts.allowSdist,
    }));
  }

  /** Clears what a crash left behind (half-done builds). */
  async init(): Promise<void> {
    if (this.opts === null) return;
    // A crash's half-done build under a subordinate uid: its files are not the platform's to remove yet.
    await reclaim(this.opts, [join(this.opts.root, '.staging')]);
    await dropAllStaging(this.opts.root);
    await mkdir(join(this.opts.root, '.inputs'), { recursive: true, mode: 0o700 });
  }

  /**
   * The key of what `version` declares, or null when it declares nothing (or builds are off): its
   * declaration files and the files their `-r`/`-c` lines name (a changed included file is a new
   * key; without includes the key is what it was before they were read).
   */
  async keyOf(version: VersionRecord): Promise<string | null> {
    const files = this.opts === null ? [] : await this.depsFiles(version.files);
    if (files.length === 0) return null;
    // Per workspace: a workspace uploading requirements another had built got `ready` at once, with
    // that build's times and log (red team of 2026-12-04). The site is still shared by lock.
    const scope = this.opts!.allowSdist ? version.function : workspaceOfKey(version.function);
    return this.keyFor(files, scope);
  }

  private keyFor(files: readonly FileEntry[], scope: string | null): string {
    return sha256(JSON.stringify({ fingerprint: this.fingerprint, files: files.map((f) => [f.path, f.sha256]), scope }));
  }

  /**
   * The key's record, or the one a build of before builds were keyed by workspace (2026-12-05)
   * left for the same declaration on the same platform (scope null), adopted under `key` when it
   * is ready and its site is there. Without it, the first start of an upgraded install resolved
   * every function's requirements again: with the package index out of reach, each function with
   * a requirements.txt stopped being served (FUNCTION_NOT_DEPLOYED) though its site was on disk
   * (upgrade round 1). The adopted record keeps lock, packages and size; its log and times say it
   * was adopted (the old build may have been another workspace's).
   */
  private async known(key: string, version: Pick<VersionRecord, 'function' | 'files'> & { version?: number }): Promise<DepsRecord | null> {
    const record = await this.record(key);
    if (record !== null || this.opts!.allowSdist) return record;
    const earlier = await this.record(this.keyFor(await this.depsFiles(version.files), null));
    if (earlier === null || earlier.state !== 'ready' || !this.siteExists(earlier)) return null;
    const now = Date.now();
    const adopted: DepsRecord = { ...earlier, startedAt: now, finishedAt: now, log: `kept from before the upgrade: the site this declaration had (${earlier.lock ?? 'nothing to install'}), not resolved again\n` };
    await this.save(key, adopted).catch((err: unknown) => this.log(`deps: could not record build ${key}: ${String(err)}`));
    this.log(`deps: ${version.function}${version.version === undefined ? '' : ` version ${version.version}`} keeps its dependency site from before the upgrade (not resolved again)`);
    return adopted;
  }

  /** True when `version`'s key has no site yet and none is being built (an upload would start a build). */
  async wouldBuild(version: Pick<VersionRecord, 'function' | 'files'>): Promise<boolean> {
    const key = await this.keyOf(version as VersionRecord);
    if (key === null || this.running.has(key)) return false;
    const record = await this.known(key, version);
    return record === null || record.state !== 'ready' || !this.siteExists(record);
  }

  /** The bytes of the distinct sites these keys' ready builds installed (a site shared by several counts once). */
  async siteBytes(keys: Iterable<string>): Promise<number> {
    const sizes = new Map<string, number>();
    for (const key of keys) {
      const record = await this.record(key);
      if (record?.state === 'ready' && record.lock !== null) sizes.set(record.lock, record.bytes);
    }
    let total = 0;
    for (const bytes of sizes.values()) total += bytes;
    return total;
  }

  /**
   * Refuses an upload whose requirements.txt, or a file it names with `-r`/`-c`, has a line the
   * builder would refuse, or names a file outside the version (DEPS_REQUIREMENT_INVALID).
   */
  async checkUpload(files: readonly FileEntry[]): Promise<void> {
    if (this.opts === null) return;
    await depsClosure(files, (file, constraints) => this.includesOf(file, constraints));
  }

  /**
   * The declaration files of `files` and what they include. A version stored with an include
   * that no longer resolves (its upload was checked, so only a lost blob) keys on its declaration
   * files alone: the build then fails with the builder's own message.
   */
  private async depsFiles(files: readonly FileEntry[]): Promise<FileEntry[]> {
    return depsClosure(files, (file, constraints) => this.includesOf(file, constraints)).catch(() => depsFilesOf(files));
  }

  /** A requirements file's -r/-c lines, checked; by content, so each blob is read and checked once. */
  private async includesOf(file: FileEntry, constraints: boolean): Promise<Include[]> {
    if (file.path === 'pyproject.toml') return [];
    const key = `${constraints ? 'c' : 'r'}:${file.path}:${file.sha256}`;
    const known = this.includeCache.get(key);
    if (known !== undefined) return known;
    const data = await this.blobs.get(file.sha256);
    const found = data === null ? [] : checkRequirementsFile(data.toString('utf8'), file.path, constraints).includes;
    if (this.includeCache.size >= 10_000) this.includeCache.clear();
    this.includeCache.set(key, found);
    return found;
  }

  /** What the API shows; starts a build only when one was lost (a restart while it ran). */
  async status(version: VersionRecord): Promise<DepsStatus | null> {
    const key = await this.keyOf(version);
    if (key === null) return null;
    const running = this.running.get(key);
    if (running !== undefined) return runningView(key, running);
    const record = await this.record(key);
    // Nothing known: the build was lost (a restart while it ran); it starts again now.
    return record === null ? this.start(version, false) : recordView(key, record);
  }

  /** The build log: the running build's so far, or the last finished one's. */
  async logOf(version: VersionRecord): Promise<string> {
    const key = await this.keyOf(version);
    if (key === null) return '';
    return this.running.get(key)?.log ?? (await this.record(key))?.log ?? '';
  }

  /** Starts the key's build unless it runs or is ready (`retryFailed`: also when it failed). */
  async start(version: VersionRecord, retryFailed = true): Promise<DepsStatus | null> {
    const key = await this.keyOf(version);
    if (key === null) return null;
    const running = this.running.get(key);
    if (running !== undefined) return runningView(key, running);
    const record = await this.known(key, version);
    if (record !== null && record.state === 'ready' && this.siteExists(record)) return recordView(key, record);
    // A build that found the disk full, or the platform out of file descriptors, is tried again (by a
    // deploy, or a start that serves it): space and descriptors come back.
    if (record !== null && record.state === 'failed' && !retryFailed && record.error?.code !== 'STORAGE_FULL' && record.error?.code !== 'PLATFORM_FILE_LIMIT') return recordView(key, record);
    // A stored version with no build under its key, outside an upload: what it was built with changed
    // (an upgrade's runtime pins, a moved checkout's Python, the index settings) or the build was lost.
    // Said, since it needs the package index: it went without a word (upgrade round 2).
    if (record === null && !retryFailed) this.log(`deps: ${version.function} version ${version.version} has no dependency build for this platform's Python, runtime pins and index settings (changed since it was built, or its build was lost): resolving its requirements again`);
    return runningView(key, this.launch(key, version));
  }

  /** For a deploy: the version's dependencies are ready, or a registry error says why not. */
  async requireReady(version: VersionRecord): Promise<void> {
    const status = await this.start(version, false);
    if (status === null || status.state === 'ready') return;
    const where = { function: version.function, version: version.version, deps: status.state };
    if (status.state === 'building') {
      throw new PlatformError('DEPS_NOT_READY', `the dependencies of ${version.function} version ${version.version} are still being built (${status.phase ?? 'queued'}); deploy it when they are ready`, where);
    }
    throw new PlatformError(status.error!.code, status.error!.message, where);
  }

  /** Waits for the version's site (building it if needed); null when it declares nothing to install. */
  async ensure(version: VersionRecord): Promise<string | null> {
    const name = `${version.function}@${version.version}`;
    const status = await this.start(version, false);
    const key = await this.keyOf(version);
    const record = key === null ? null : this.running.has(key) ? await this.running.get(key)!.done : await this.record(key);
    if (status === null || record === null) {
      this.sites.delete(name);
      return null;
    }
    if (record.state === 'failed') throw new PlatformError(record.error!.code, record.error!.message, { function: version.function, version: version.version });
    const site = record.lock !== null && record.packages.length > 0 ? join(this.opts!.root, record.lock, 'site') : null;
    if (site === null) this.sites.delete(name);
    else this.sites.set(name, site);
    return site;
  }

  /** The site a deployed version runs with (after `ensure`); null: none. No I/O: the registry calls it. */
  siteOf(name: string, version: number): string | null {
    return this.sites.get(`${name}@${version}`) ?? null;
  }

  /**
   * Removes the build records no version refers to (`live`: the keys of every stored version, any
   * workspace), then the sites no remaining record names. Only what is older than `graceMs`: a
   * version being uploaded, or a build just published, is not in `live` yet. Returns what went.
   */
  async collect(live: ReadonlySet<string>, graceMs: number, now = Date.now()): Promise<{ records: number; sites: number }> {
    if (this.opts === null) return { records: 0, sites: 0 };
    const root = this.opts.root;
    const old = async (path: string): Promise<boolean> => {
      const st = await stat(path).catch(() => null);
      return st !== null && now - st.mtimeMs >= graceMs;
    };
    let records = 0;
    const locks = new Set<string>();
    for (const file of await readdir(join(root, '.inputs')).catch(() => [] as string[])) {
      const key = file.endsWith('.json') ? file.slice(0, -5) : '';
      if (!KEY.test(key)) continue;
      if (live.has(key) || this.running.has(key) || !(await old(join(root, '.inputs', file)))) {
        const lock = (await this.record(key))?.lock;
        if (lock !== null && lock !== undefined) locks.add(lock);
        continue;
      }
      await rm(join(root, '.inputs', file), { force: true });
      this.records.delete(key);
      records++;
    }
    let sites = 0;
    for (const lock of await readdir(root).catch(() => [] as string[])) {
      if (!KEY.test(lock) || locks.has(lock) || !(await old(join(root, lock)))) continue;
      await removeSite(root, lock);
      sites++;
    }
    if (records + sites > 0) this.log(`deps: removed ${records} build record${records === 1 ? '' : 's'} and ${sites} site${sites === 1 ? '' : 's'} no version uses`);
    return { records, sites };
  }

  /** Stops every running build (they end `failed`). */
  async close(): Promise<void> {
    for (const run of this.running.values()) run.abort.abort();
    const waiting = [...this.queues.values()].flat();
    this.queues.clear();
    for (const next of waiting) next(); // queued builds wake up, see the abort, and end
    await Promise.all([...this.running.values()].map((r) => r.done.catch(() => undefined)));
    this.opts?.cgroups?.close();
  }

  private launch(key: string, version: VersionRecord): Running {
    const opts = this.opts!;
    const run = { phase: 'queued', startedAt: Date.now(), log: '', abort: new AbortController() } as Running;
    // Noted until the record is saved, so a start after a kill builds it again (resumePending); a failed write loses only that.
    const noted = writeFile(this.pendingFile(key), JSON.stringify({ function: version.function, version: version.version }), { mode: 0o600 })
      .catch((err: unknown) => this.log(`deps: could not note build ${key} as pending: ${String(err)}`));
    run.done = (async (): Promise<DepsRecord> => {
      await this.slot(workspaceOfKey(version.function));
      let record: DepsRecord;
      try {
        if (run.abort.signal.aborted) throw new Error('the platform is stopping');
        const outcome = await runBuild(opts, {
          input: await this.inputOf(version),
          scope: opts.allowSdist ? version.function : null,
          signal: run.abort.signal,
          onPhase: (phase) => { run.phase = phase; },
          onOutput: (text) => { run.log = (run.log + text).slice(-16 * 1024); },
        });
        record = { state: outcome.ok ? 'ready' : 'failed', lock: outcome.lock, packages: outcome.packages, bytes: outcome.bytes, error: outcome.error, startedAt: run.startedAt, finishedAt: Date.now(), log: outcome.log };
      } catch (err) {
        record = { state: 'failed', lock: null, packages: [], bytes: 0, error: { code: 'DEPS_BUILD_FAILED', message: (err as Error).message }, startedAt: run.startedAt, finishedAt: Date.now(), log: run.log };
      } finally {
        this.release();
      }
      if (run.abort.signal.aborted) {
        // Stopped by a shutdown, not failed: nothing is recorded (its pending note stays), so the next start builds it again.
        this.running.delete(key);
        return record;
      }
      if (record.error !== null) this.log(`${DEPS_BUILD_FAILED_LINE}${version.function} version ${version.version} failed: ${record.error.code}: ${oneLogLine(record.error.message.split('\n')[0]!)}`);
      await this.save(key, record).catch((err: unknown) => this.log(`deps: could not record build ${key}: ${String(err)}`));
      await noted;
      await rm(this.pendingFile(key), { force: true });
      this.running.delete(key);
      return record;
    })();

    this.running.set(key, run);
    return run;
  }

  /**
   * Starts again the builds a platform killed mid-build left (ADR 0239): each launch notes its
   * key's version in `.inputs/<key>.pending` until its record is saved, so a start finds them
   * without a read of the version. Before, such a build started again only when something next
   * read the version: a deploy waiting elsewhere, or a cluster peer, waited for ever. The builds
   * take slots as any (FP_DEPS_CONCURRENCY at once, in turn per workspace); at most
   * MAX_RESUMED_AT_START notes are read, the rest start at their next read as before. A note whose
   * version is gone, or is ready already (a peer built it), is removed. Returns the builds started.
   */
  async resumePending(versionOf: (fn: string, version: number) => Promise<VersionRecord | null>): Promise<number> {
    if (this.opts === null) return 0;
    const dir = join(this.opts.root, '.inputs');
    let started = 0;
    for (const { file, noted } of await this.pendingNotes(dir)) {
      const key = file.slice(0, -PENDING.length);
      const version = noted !== null ? await versionOf(noted.function, noted.version).catch(() => null) : null;
      if (version === null || (await this.keyOf(version)) !== key) {
        await rm(join(dir, file), { force: true });
        continue;
      }
      const status = await this.start(version, false);
      if (status?.state === 'building') started++;
      else await rm(join(dir, file), { force: true });
    }
    if (started > 0) this.log(`deps: ${started} dependency build${started === 1 ? '' : 's'} a stop interrupted started again`);
    return started;
  }

  /**
   * The notes resumePending reads: at most MAX_RESUMED_AT_START, taken from the workspaces in turn
   * (one of each, then a second of each…), so one workspace's many interrupted builds cannot leave
   * another's out (red team round 49: the first 256 by file name, a key's hash, were one tenant's
   * with ~1000 of its uploads queued at the crash). Every note is read (a small local file; the cap
   * is on the versions read from the store); one that does not parse has `noted` null (removed).
   */
  private async pendingNotes(dir: string): Promise<PendingNote[]> {
    const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(PENDING) && KEY.test(f.slice(0, -PENDING.length)));
    const byWorkspace = new Map<string, PendingNote[]>();
    for (const file of files) {
      let noted: PendingNote['noted'] = null;
      try {
        const read = JSON.parse(await readFile(join(dir, file), 'utf8')) as { function?: unknown; version?: unknown };
        if (typeof read.function === 'string' && typeof read.version === 'number') noted = { function: read.function, version: read.version };
      } catch {
        // torn or unreadable: removed by the caller
      }
      const workspace = noted === null ? '' : workspaceOfKey(noted.function);
      const list = byWorkspace.get(workspace);
      if (list === undefined) byWorkspace.set(workspace, [{ file, noted }]);
      else list.push({ file, noted });
    }
    const turns = [...byWorkspace.values()];
    const out: PendingNote[] = [];
    for (let round = 0; out.length < MAX_RESUMED_AT_START && turns.some((t) => t.length > round); round++) {
      for (const list of turns) if (round < list.length && out.length < MAX_RESUMED_AT_START) out.push(list[round]!);
    }
    return out;
  }

  private pendingFile(key: string): string {
    return join(this.opts!.root, '.inputs', `${key}${PENDING}`);
  }

  private async inputOf(version: VersionRecord): Promise<BuildInput> {
    const input: BuildInput = new Map();
    for (const file of await this.depsFiles(version.files)) {
      const data = await this.blobs.get(file.sha256);
      if (data === null) throw new Error(`the content of ${file.path} (${file.sha256}) is missing from the blob store`);
      input.set(file.path, data);
    }
    return input;
  }

  private siteExists(record: DepsRecord): boolean {
    return record.lock === null || record.packages.length === 0 || existsSync(join(this.opts!.root, record.lock, 'site'));
  }

  private async record(key: string): Promise<DepsRecord | null> {
    if (this.records.has(key)) return this.records.get(key)!;
    if (!KEY.test(key)) return null;
    const text = await readFile(join(this.opts!.root, '.inputs', `${key}.json`), 'utf8').catch(() => null);
    let record: DepsRecord | null = null;
    try {
      record = text === null ? null : (JSON.parse(text) as DepsRecord);
    } catch {
      record = null; // a torn write: built again
    }
    this.records.set(key, record);
    return record;
  }

  private async save(key: string, record: DepsRecord): Promise<void> {
    this.records.set(key, record);
    const dir = join(this.opts!.root, '.inputs');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${key}.${process.pid}.tmp`);
    // A write that failed (a full disk) leaves no partial file behind.
    await writeFile(tmp, JSON.stringify(record), { mode: 0o600 }).catch(async (err: unknown) => {
      await rm(tmp, { force: true });
      throw err;
    });
    await rename(tmp, join(dir, `${key}.json`));
  }

  private async slot(workspace: string): Promise<void> {
    if (this.active < this.opts!.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => {
      const queue = this.queues.get(workspace);
      if (queue === undefined) this.queues.set(workspace, [resolve]);
      else queue.push(resolve);
    });
  }

  /** Hands the slot to the first waiting build of the next workspace in turn (it goes to the back of the line). */
  private release(): void {
    const first = this.queues.entries().next();
    if (first.done === true) {
      this.active--;
      return;
    }
    const [workspace, queue] = first.value;
    const next = queue.shift()!;
    this.queues.delete(workspace);
    if (queue.length > 0) this.queues.set(workspace, queue);
    next();
  }
}

const EMPTY: Omit<DepsStatus, 'state' | 'key'> = { phase: null, lock: null, packages: [], bytes: 0, error: null, startedAt: null, finishedAt: null };

function runningView(key: string, run: Running): DepsStatus {
  return { ...EMPTY, state: 'building', key, phase: run.phase, startedAt: run.startedAt };
}

function recordView(key: string, r: DepsRecord): DepsStatus {
  return { state: r.state, key, phase: null, lock: r.packages.length > 0 ? r.lock : null, packages: r.packages, bytes: r.bytes, error: r.error, startedAt: r.startedAt, finishedAt: r.finishedAt };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
