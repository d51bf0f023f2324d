/**
 * Preparing a function version's files before its first cold start: compile its Python bytecode
 * into `__pycache__` with the runtime's own interpreter, so a specialization reads cached
 * bytecode instead of compiling and writing it (measured here: import 1.4 ms → 0.25 ms for a
 * small module; the .pyc write dominates). Done at deploy time, before the version takes traffic.
 * Syntax errors are not reported here: the specialization reports them with file and line.
 *
 * One compiler process serves the requests, started on the first and kept until close(): a
 * `python -m compileall -j 0` per deploy cost 80-150 ms of every deploy on the 2-core reference
 * machine (an interpreter start, then a process pool even for one file); a request to the kept
 * process costs a few ms. A request that finds it busy gets a process of its own, as before, so
 * one function's slow compile never holds up another's deploy. Small folders compile in that
 * process; from PARALLEL_FROM .py files on, compileall's process pool is worth its start. The
 * compiler only compiles (nothing of the code runs) and runs as the platform does, as the
 * one-shot compileall did.
 *
 * Bounded (red team 8, docs/security.md): the parser's memory is the host's, and a deployer
 * chooses the source: a 10 MiB file of one list literal took ~4 GiB to compile, and every request
 * that found the compiler busy got a process of its own, without bound. So each compiler process
 * (and each of its pool's workers, at most POOL_WORKERS) has a hard address-space limit
 * (`maxMemoryBytes`, default 512 MiB: past it the folder gives false and compiles on first
 * import, inside the function's box and under its memory limit); at most MAX_PROCESSES compile at
 * once, MAX_WAITING more wait, and past that a request is answered false at once (not compiled
 * ahead: only its first cold start is slower).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { spawnedWithoutFds } from '../protocol/index.js';

export interface PrepareOptions {
  pythonPath: string;
  childEnv: Record<string, string>;
  /** Give up (the version still works, it just compiles on first import) after this long. */
  timeoutMs?: number;
  /** Hard address-space limit of each compiler process and pool worker (default 512 MiB). */
  maxMemoryBytes?: number;
}

/** Compiler processes at once (the kept one and one-shots). */
export const MAX_PROCESSES = 2;
/** Requests waiting for a compiler; past this a request is answered false (not compiled ahead). */
export const MAX_WAITING = 8;
/** Workers of one compiler's process pool (compileall's own default is every CPU). */
export const POOL_WORKERS = 2;
const DEFAULT_MAX_MEMORY_BYTES = 512 * 1024 * 1024;

/** From this many .py files on, a folder compiles on a pool of processes (compileall's workers=0). */
export const PARALLEL_FROM = 64;

/**
 * Reads one JSON line per request (a folder), answers `1` (all compiled) or `0`, one line each.
 * argv[1] is the address-space limit, set hard before anything is read (pool workers inherit it).
 * A MemoryError in a file is a compile failure (py_compile), in a worker a broken pool: `0`.
 */
const SERVER = `
import resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
import compileall, json, os
for line in sys.stdin:
    try:
        d = json.loads(line)
        n = sum(1 for _, _, files in os.walk(d) for f in files if f.endswith('.py'))
        ok = compileall.compile_dir(d, quiet=2, workers=${POOL_WORKERS} if n >= ${PARALLEL_FROM} else 1)
    except Exception:
        ok = False
    sys.stdout.write('1\\n' if ok else '0\\n')
    sys.stdout.flush()
`;

interface Request {
  dir: string;
  resolve: (ok: boolean) => void;
}

export class BytecodeCompiler {
  private proc: ChildProcess | null = null;
  private current: Request | null = null;
  private timer: NodeJS.Timeout | undefined;
  private buffered = '';
  private closed = false;
  /** One-shot processes (requests that found the kept one busy), ended by close(). */
  private readonly extra = new Set<ChildProcess>();
  /** Requests waiting for a compiler process (at most MAX_WAITING). */
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly options: PrepareOptions) {}

  /** Resolves true when every file of `dir` compiled, false otherwise (never rejects). */
  compile(dir: string): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.current !== null && this.extra.size + 1 >= MAX_PROCESSES) {
      if (this.waiting.length >= MAX_WAITING) return Promise.resolve(false);
      return new Promise<void>((go) => this.waiting.push(go)).then(() => this.compile(dir));
    }
    return new Promise<boolean>((resolve) => {
      if (this.current !== null) {
        this.oneShot(dir, resolve);
        return;
      }
      this.current = { dir, resolve };
      const proc = this.proc ?? this.start();
      // Stuck: this request gives up; the process is replaced at the next one.
      this.timer = setTimeout(() => proc.kill('SIGKILL'), this.timeoutMs());
      proc.stdin?.write(`${JSON.stringify(dir)}\n`); // none: not spawned (no file descriptor), its 'error' settles it
    });
  }

  /** Ends the compiler processes. */
  async close(): Promise<void> {
    this.closed = true;
    for (const go of this.waiting.splice(0)) go(); // each then answers false (closed)
    const procs = [...this.extra, ...(this.proc !== null ? [this.proc] : [])].filter((p) => p.exitCode === null && p.signalCode === null);
    await Promise.all(procs.map(async (proc) => {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      if (proc === this.proc) proc.stdin?.end();
      else proc.kill('SIGKILL');
      const kill = setTimeout(() => proc.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(kill);
    }));
  }

  private timeoutMs(): number {
    return this.options.timeoutMs ?? 30_000;
  }

  private args(): string[] {
    return ['-I', '-c', SERVER, String(this.options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES)];
  }

  /** A compiler process is free again: the longest-waiting request takes it. */
  private next(): void {
    this.waiting.shift()?.();
  }

  /** The same compile in a process of its own, for one request. */
  private oneShot(dir: string, resolve: (ok: boolean) => void): void {
    const proc = spawn(this.options.pythonPath, this.args(), { env: this.options.childEnv, stdio: ['pipe', 'pipe', 'ignore'] });
    this.extra.add(proc);
    let answer = '';
    const timer = setTimeout(() => proc.kill('SIGKILL'), this.timeoutMs());
    // Not spawned (no file descriptor): no pipes; its 'error' below answers false (spawn-failed.ts).
    spawnedWithoutFds(proc);
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk;
    });
    proc.stdin?.on('error', () => undefined);
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.extra.delete(proc);
      resolve(answer.startsWith('1\n'));
      this.next();
    };
    proc.once('close', done);
    proc.once('error', done);
    proc.stdin?.end(`${JSON.stringify(dir)}\n`);
  }

  private start(): ChildProcess {
    const proc = spawn(this.options.pythonPath, this.args(), { env: this.options.childEnv, stdio: ['pipe', 'pipe', 'ignore'] });
    this.proc = proc;
    this.buffered = '';
    spawnedWithoutFds(proc); // not spawned (no file descriptor): no pipes; 'error' below settles the request
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const answer = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (this.proc === proc) this.settle(answer === '1');
      }
    });
    proc.stdin?.on('error', () => undefined); // a dead process: its exit settles the request
    // Exit or spawn error (either or both): the request it held fails, once; the next one starts a new process.
    const gone = (): void => {
      if (this.proc !== proc) return;
      this.proc = null;
      this.settle(false);
    };
    proc.on('exit', gone);
    proc.on('error', gone);
    return proc;
  }

  private settle(ok: boolean): void {
    const request = this.current;
    if (request === null) return;
    clearTimeout(this.timer);
    this.current = null;
    request.resolve(ok);
    this.next();
  }
}
