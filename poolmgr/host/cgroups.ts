/**
 * Per-instance memory and process limits and per-function CPU weights, through the cgroups the
 * machine offers: cgroup v2 when its memory, pids and cpu controllers can be used, else the v1
 * hierarchies, else none (the runtime's rlimits are the fallback). The one place that knows
 * cgroup file names and layouts. The runtime only carries out the operations decided here
 * (protocol CgroupOp, runtime/fp_sandbox/enter.py).
 *
 * Layout: one leaf per runtime, under the platform's own cgroup in each hierarchy, in a directory
 * of its own (`fp-<pid>-<n>-<pid namespace>`, removed at close; stale ones of dead platforms
 * removed at start: `ownName`, `removeStale`, docs/adr/0125-pid-namespace-in-names.md):
 *   v1  memory/…/fp-<pid>-<n>-<ns>/<leaf>, pids/…, cpu/…, cpuacct/… (when cpuacct has its own hierarchy)
 *   v2  …/fp-<pid>-<n>-<ns>/<leaf>
 * Leaves are made ahead, a few at a time, off the spawn path (refilled REFILL_DELAY_MS after one is taken) (`l<n>`, never used twice: a leaf
 * leaves with its runtime), and handed to runtimes as they start: a leaf's mkdir in each hierarchy
 * costs ~0.2 ms that a fork would otherwise wait for (bench/README.md section 3, 2026-12-03 night).
 * The keeper joins the leaves at spawn, so the whole box lives there from its first process on
 * (a forked box's init moves itself and the runtime: docs/adr/0019-zygotes.md). Moving a process
 * between cgroups waits for an RCU grace period (8-30 ms here) unless the kernel favours dynamic
 * modifications, which `open()` turns on (cgroup-migrations.ts). Nothing moves at specialize;
 * specialize only writes limits: the memory allowance (charged + the function's memory), and the leaf's CPU
 * weight. Every workspace gets the same total CPU weight, split evenly over its functions with
 * instances, and each function's share evenly over its instances (each leaf: cpuShares /
 * (functions × instances), the workspace's other leaves reweighed REWEIGH_DELAY_MS later, off the call path):
 * a function with many busy instances shares the CPU with a function with one instead of starving
 * it (probe finding 5), and a tenant spreading its load over many functions gets one share, not
 * one per function (red team of 2026-12-04). With a total of tasks, a workspace's leaves together
 * get at most seven eighths of it, the same way: each leaf's pids.max is the tasks limit, or the
 * workspace's share over its instances when that is less, so one workspace never takes the tasks
 * the others' threads need (red team of 2026-12-05, second round; docs/adr/0088-workspace-task-share.md).
 */
import { mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { workspaceOfKey, type CgroupOp } from '../../protocol/index.js';
import { favorDynamicModifications, type MigrationMode } from './cgroup-migrations.js';
import { enableV2Controllers, v2Home } from './cgroup-v2-home.js';
import { ownerGone, PID_NS_SUFFIX } from './host-pids.js';
import type { RuntimeStats } from './types.js';

/** Where the box sees the bound cgroup directories (runtime/fp_sandbox/view.py). */
const IN_BOX = '/.fp/cg';
const GIB = 1024 * 1024 * 1024;
/** Hosts opened by this process: each gets its own directory. */
let opened = 0;

/** `fp-<pid>-<n>-<pid namespace>` (`fp-<pid>-<n>` when the namespace cannot be read). */
function ownName(n: number | string): string {
  return `fp-${process.pid}-${n}${PID_NS_SUFFIX}`;
}
const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct'] as const;
const V2_CONTROLLERS = ['memory', 'pids', 'cpu'];
/**
 * The fewest tasks a leaf gets while its workspace's share is taken (or a sixteenth of the tasks
 * limit, if less): the runtime and its own threads start; what the function starts fails
 * (FUNCTION_PROCESS_LIMIT: its workspace's share is taken).
 */
const MIN_LEAF_TASKS = 16;
/** How long after a leaf is taken the stock is refilled (past the fork of the box that took it). */
export const REFILL_DELAY_MS = 20;
/** How long after a placement or a release the workspace's other leaves get their new CPU weight (reweighLater). */
export const REWEIGH_DELAY_MS = 20;

export interface CgroupOptions {
  /** Processes and threads per instance (pids.max). */
  tasksMax: number;
  /**
   * Processes and threads of all the instances together (the platform directory's pids.max): with
   * 256 per instance and no total, a tenant's instances reached 40 % of the host's pid_max
   * (red team of 2026-12-05). Unset: no total, and no workspace share of it (`workspaceTasksMax`).
   */
  totalTasksMax?: number;
  /**
   * Socket buffer bytes of all the instances together (cgroup v1 only: the platform directory's
   * memory.kmem.tcp.limit_in_bytes, which the leaves' own allowances count against). Each leaf's
   * allowance is its memory limit, so ten instances of a 256Mi function could hold 2.5 GiB of the
   * host's TCP or UDP memory, past its global hard limit (`net.ipv4.tcp_mem`, `udp_mem`), after
   * which every socket of the host, the platform's too, is held to its minimum buffers (red team
   * of 2026-12-06). Unset: no total.
   */
  totalSocketBytes?: number;
  /**
   * Memory of all the instances together (the platform directory's memory limit, hierarchical: v1
   * memory.limit_in_bytes and memsw, v2 memory.max). Each leaf's limit is its own function's, and
   * nothing bounded their sum: one workspace's 64 instances of a 4Gi function could touch more than
   * the host has, and the host's OOM killer then ended its biggest process, the platform (red team
   * round 43, docs/adr/0209-boxes-memory-total.md). Past this total the kernel kills in the boxes
   * only. Unset: no total.
   */
  totalMemoryBytes?: number;
  /** CPU weight of every function (v1 cpu.shares scale: 1024 = one CPU's fair share). */
  cpuShares: number;
  /** Leaves kept made ahead of `forRuntime` (default 0: each made when asked; more than the stock are made inline). */
  leafStock?: number;
  /**
   * Refuses inet `bind()` in a cgroup v2 directory (runtime/fp_sandbox/bindguard.py); throws when
   * it cannot. Given, every runtime's processes join a directory it guarded: the platform's own
   * v2 directory when v2 holds the controllers, else one made for it in the v2 hierarchy (hybrid).
   */
  guard?: (dir: string) => void;
}

/** A mounted hierarchy: its mount point and this process's cgroup path in it. */
interface Hierarchy {
  mount: string;
  own: string;
}

export interface RuntimeCgroups {
  /** Host paths of `cgroup.procs` files the keeper joins at spawn. */
  join: string[];
  /** In-box name → host directory bound at /.fp/cg/<name> until specialize. */
  binds: Record<string, string>;
}

/**
 * The box's own OOM preference, raised at specialize (no privilege needed to raise it) for an
 * instance whose workspace holds more than half of the boxes' memory total in allowances: past the
 * total the kernel kills the biggest process among every workspace's boxes, and a workspace filling
 * it with children of a few MiB had another workspace's bigger instance killed (red team round 43,
 * docs/adr/0209-boxes-memory-total.md). Every box starts at 500 (runtime/fp_sandbox/keeper.py).
 */
const OOM_SCORE_ADJ = '/proc/self/oom_score_adj';
const OOM_FIRST = '1000';

/** cgroup v1's limit of a leaf's socket buffers; writing it is what makes the kernel count them. */
const SOCKETS_LIMIT = 'memory.kmem.tcp.limit_in_bytes';

/** The cgroups of one platform process. `open()` returns null when none can be used. */
export class Cgroups {
  /** The function each placed runtime serves, and the runtimes of each function, by workspace. */
  private readonly placed = new Map<string, string>();
  private readonly byWorkspace = new Map<string, Map<string, Set<string>>>();
  private readonly rebalancing = new Set<string>();
  /** Workspaces whose leaves' CPU weights are written soon (reweighLater). */
  private readonly reweighing = new Map<string, NodeJS.Timeout>();
  /** v1 with swap accounting (memory.memsw.* files). */
  private readonly swapAccounted: boolean;
  /**
   * v1 can count socket buffers (memory.kmem.tcp.*): not in memory.usage_in_bytes and only once a
   * limit is written, so a box without one held gigabytes of kernel memory in unread TCP buffers
   * while its cgroup showed 1 MiB (red team, 2026-12-04). v2 counts them in memory.current.
   */
  private readonly socketsAccountable: boolean;
  /** The leaf (directory name in every hierarchy) of each runtime, and leaves made ahead for the next ones. */
  private readonly leaves = new Map<string, string>();
  /** The pids.max written to a placed runtime's leaf when it is not the tasks limit (its workspace's share). */
  private readonly leafTasks = new Map<string, number>();
  /** The CPU weight a placed runtime's leaf has (given to its box at place, written by a rebalance): a rebalance writes only the leaves whose share changed. */
  private readonly leafCpu = new Map<string, string>();
  /** The memory allowance of each placed runtime's leaf (`limits.memory`), summed by workspace for `OOM_SCORE_ADJ`. */
  private readonly leafMemory = new Map<string, number>();
  private readonly stock: string[] = [];
  private leafSeq = 0;
  private refilling = false;
  private closed = false;

  private constructor(
    readonly version: 'v1' | 'v2',
    /** Host directory of the platform's root per hierarchy (v1: by controller; v2: 'unified'). */
    private readonly roots: Record<string, string>,
    private readonly options: CgroupOptions,
    /** The bind guard: the directory every box joins besides its leaves (v1 + a v2 mount), or why there is none. */
    readonly guard: { dir: string | null; joinAlso: string | null; reason: string },
  ) {
    this.swapAccounted = version === 'v1' && existsSync(`${roots['memory']}/memory.memsw.limit_in_bytes`);
    this.socketsAccountable = version === 'v1' && existsSync(`${roots['memory']}/${SOCKETS_LIMIT}`);
    this.refillSoon();
  }

  /**
   * Creates the platform's cgroup directories; null (with the reason) when cgroups are unusable.
   * Also makes moves into cgroups fast where the kernel can (`migrations`).
   */
  static open(options: CgroupOptions, name?: string): { cgroups: Cgroups | null; reason: string; migrations?: MigrationMode } {
    const found = discover();
    if (found.v2 === null && Object.keys(found.v1).length === 0) return { cgroups: null, reason: 'no cgroup hierarchy is mounted' };
    const migrations = favorDynamicModifications();
    const opened = Cgroups.create(found, options, name ?? unusedName(found));
    return { ...opened, migrations };
  }

  private static create(found: Discovered, options: CgroupOptions, name: string): { cgroups: Cgroups | null; reason: string } {
    try {
      if (found.v2 !== null && v2Usable(found.v2)) {
        const own = v2Home(join2(found.v2.mount, found.v2.own));
        const root = join2(own, name);
        removeStale(own, name);
        // Controllers reach a child only when the parent enables them, and only from a cgroup
        // without processes: the platform leaves its own first (cgroup-v2-home.ts, ADR 0144).
        enableV2Controllers(own, V2_CONTROLLERS);
        mkdirSync(root, { recursive: true });
        writeFileSync(`${root}/cgroup.subtree_control`, V2_CONTROLLERS.map((c) => `+${c}`).join(' '));
        if (options.totalTasksMax !== undefined) writeFileSync(`${root}/pids.max`, String(options.totalTasksMax));
        if (options.totalMemoryBytes !== undefined) writeFileSync(`${root}/memory.max`, String(options.totalMemoryBytes));
        return { cgroups: new Cgroups('v2', { unified: root }, options, guarded(options, root, null)), reason: '' };
      }
      const missing = ['memory', 'pids', 'cpu'].filter((c) => found.v1[c] === undefined);
      if (missing.length > 0) return { cgroups: null, reason: `no cgroup controller for ${missing.join(', ')}` };
      const roots: Record<string, string> = {};
      for (const controller of V1_CONTROLLERS) {
        const h = found.v1[controller];
        if (h === undefined) continue;
        // cpu and cpuacct mounted together share a directory: keep one entry for it.
        if (controller === 'cpuacct' && found.v1['cpu']?.mount === h.mount) continue;
        const parent = join2(h.mount, h.own);
        removeStale(parent, name);
        roots[controller] = join2(parent, name);
        mkdirSync(roots[controller]!, { recursive: true });
      }
      if (options.totalTasksMax !== undefined) writeFileSync(`${roots['pids']!}/pids.max`, String(options.totalTasksMax));
      if (options.totalMemoryBytes !== undefined) {
        // The swap limit (memsw) must stay at or above the memory limit, so it is written after it.
        writeFileSync(`${roots['memory']!}/memory.limit_in_bytes`, String(options.totalMemoryBytes));
        if (existsSync(`${roots['memory']!}/memory.memsw.limit_in_bytes`)) writeFileSync(`${roots['memory']!}/memory.memsw.limit_in_bytes`, String(options.totalMemoryBytes));
      }
      // Hierarchical: every leaf's sockets count here too once the leaf's own limit is written (place).
      if (options.totalSocketBytes !== undefined && existsSync(`${roots['memory']!}/${SOCKETS_LIMIT}`)) {
        writeFileSync(`${roots['memory']!}/${SOCKETS_LIMIT}`, String(options.totalSocketBytes));
      }
      // The v2 hierarchy holds no controller here, but a BPF program can be attached in it.
      let guard: Cgroups['guard'] = { dir: null, joinAlso: null, reason: options.guard === undefined ? 'not asked for' : 'no cgroup v2 hierarchy is mounted' };
      if (options.guard !== undefined && found.v2 !== null) {
        const parent = join2(found.v2.mount, found.v2.own);
        removeStale(parent, name);
        const dir = join2(parent, name);
        mkdirSync(dir, { recursive: true });
        guard = guarded(options, dir, `${dir}/cgroup.procs`);
        if (guard.dir === null) removeTree(dir);
      }
      return { cgroups: new Cgroups('v1', roots, options, guard), reason: '' };
    } catch (err) {
      return { cgroups: null, reason: `cgroups are not writable (${(err as Error).message})` };
    }
  }

  /**
   * A runtime's leaves at spawn: made ahead (the stock, refilled after this turn) or, when none
   * is left, now. Every leaf is fresh: no process, no limit but pids.max was ever written to it.
   */
  forRuntime(rid: string): RuntimeCgroups {
    if (this.leaves.has(rid)) throw new Error(`runtime ${rid} has cgroup leaves already`);
    const leaf = this.stockLeaf() ?? this.makeLeaf();
    this.leaves.set(rid, leaf);
    this.refillSoon();
    const join = Object.values(this.roots).map((root) => `${root}/${leaf}/cgroup.procs`);
    if (this.guard.joinAlso !== null) join.push(this.guard.joinAlso);
    const binds: Record<string, string> = this.version === 'v2'
      ? { unified: `${this.roots['unified']!}/${leaf}` }
      : { memory: `${this.roots['memory']!}/${leaf}`, cpu: `${this.roots['cpu']!}/${leaf}` };
    return { join, binds };
  }

  /**
   * The next leaf of the stock that is still whole. One removed by hand (an operator's or a tool's
   * cleanup of empty cgroups) failed the start of the runtime that took it, and each such start
   * counted against the zygote: removing the stock bypassed a healthy zygote (reliability round 8).
   * What is left of a broken one is removed; one stat per hierarchy per cold start.
   */
  private stockLeaf(): string | undefined {
    for (let leaf = this.stock.shift(); leaf !== undefined; leaf = this.stock.shift()) {
      const dirs = Object.values(this.roots).map((root) => `${root}/${leaf}`);
      if (dirs.every((dir) => existsSync(dir))) return leaf;
      for (const dir of dirs) {
        try {
          rmdirSync(dir);
        } catch {
          // gone already
        }
      }
    }
    return undefined;
  }

  /** Makes one leaf in every hierarchy, with the limits every box gets from its start; returns its name. */
  private makeLeaf(): string {
    const leaf = `l${++this.leafSeq}`;
    for (const [name, root] of Object.entries(this.roots)) {
      const dir = `${root}/${leaf}`;
      mkdirSync(dir);
      if (name === 'pids' || name === 'unified') writeFileSync(`${dir}/pids.max`, String(this.options.tasksMax));
      // v2: no swap at all for a box (memory.max must be the limit, not memory + swap).
      if (name === 'unified' && existsSync(`${dir}/memory.swap.max`)) writeFileSync(`${dir}/memory.swap.max`, '0');
    }
    return leaf;
  }

  /**
   * Tops the stock of made-ahead leaves up a little later: not in the milliseconds the box that
   * took one is being built (on a busy machine the mkdirs would compete with it for a CPU).
   */
  private refillSoon(): void {
    if (this.refilling || this.closed || this.stock.length >= (this.options.leafStock ?? 0)) return;
    this.refilling = true;
    setTimeout(() => {
      this.refilling = false;
      try {
        while (!this.closed && this.stock.length < (this.options.leafStock ?? 0)) this.stock.push(this.makeLeaf());
      } catch {
        // a full or failing hierarchy: the next spawn makes its leaf itself (and reports the error)
      }
    }, REFILL_DELAY_MS).unref();
  }

  /** The directory of `rid`'s leaf under a hierarchy's root (its name in every hierarchy). */
  private leaf(rid: string): string {
    return this.leaves.get(rid) ?? rid;
  }

  /**
   * The operations that give a runtime its function's limits: its memory allowance and its share
   * of the function's CPU weight. The other instances of the function get their new share right
   * after (rebalance), off the call path.
   */
  place(rid: string, fnName: string, memoryBytes: number): CgroupOp[] {
    const workspace = workspaceOfKey(fnName);
    const functions = this.byWorkspace.get(workspace) ?? new Map<string, Set<string>>();
    this.byWorkspace.set(workspace, functions);
    const siblings = functions.get(fnName) ?? new Set<string>();
    siblings.add(rid);
    functions.set(fnName, siblings);
    this.placed.set(rid, fnName);
    const [memDir, cpuDir] = this.version === 'v2' ? [`${IN_BOX}/unified`, `${IN_BOX}/unified`] : [`${IN_BOX}/memory`, `${IN_BOX}/cpu`];
    const ops: CgroupOp[] = [];
    if (memoryBytes > 0) {
      // With swap accounting, memory + swap gets the same value (one reading of the usage, so it
      // can never come out below the memory limit, which the kernel refuses): swap is no way around.
      ops.push(this.version === 'v2'
        ? { limit: `${memDir}/memory.max`, usage: `${memDir}/memory.current`, bytes: memoryBytes }
        : {
          limit: `${memDir}/memory.limit_in_bytes`, usage: `${memDir}/memory.usage_in_bytes`, bytes: memoryBytes,
          ...(this.swapAccounted ? { alsoLimit: `${memDir}/memory.memsw.limit_in_bytes` } : {}),
        });
      // Socket buffers (TCP and UDP once this is written) get an allowance of the same size, apart.
      if (this.socketsAccountable) ops.push({ write: { [`${memDir}/${SOCKETS_LIMIT}`]: String(memoryBytes) } });
    }
    this.leafMemory.set(rid, memoryBytes);
    if (this.pastMemoryHalf(functions)) ops.push({ write: { [OOM_SCORE_ADJ]: OOM_FIRST } });
    const [file, value] = this.cpuWeight(functions.size, siblings.size);
    ops.push({ write: { [`${cpuDir}/${file}`]: value } });
    this.leafCpu.set(rid, value);
    // Written from here, at once (the box cannot: its pids directory is not bound in); the
    // workspace's other leaves get theirs with their CPU weight, right after.
    this.writeTasks(rid, this.tasksOfLeaves(functions, [rid]).get(rid)!);
    if (siblings.size > 1 || functions.size > 1) this.rebalanceSoon(workspace);
    return ops;
  }

  /** True when these functions' instances together are allowed more than half of the boxes' memory total. */
  private pastMemoryHalf(functions: Map<string, Set<string>>): boolean {
    const total = this.options.totalMemoryBytes;
    if (total === undefined) return false;
    let held = 0;
    for (const siblings of functions.values()) for (const rid of siblings) held += this.leafMemory.get(rid) ?? 0;
    return held * 2 > total;
  }

  /**
   * The most tasks all of one workspace's boxes may have: the total less an eighth, as the
   * instances' reserve (docs/adr/0088-workspace-task-share.md); undefined without a total.
   */
  workspaceTasksMax(): number | undefined {
    const total = this.options.totalTasksMax;
    return total === undefined ? undefined : total - Math.max(1, Math.ceil(total / 8));
  }

  /** pids.max of each leaf of a workspace with these functions' instances: the tasks limit, or an even part of the workspace's share. */
  private tasksOf(functions: Map<string, Set<string>>): number {
    const share = this.workspaceTasksMax();
    if (share === undefined) return this.options.tasksMax;
    let instances = 0;
    for (const siblings of functions.values()) instances += siblings.size;
    return Math.max(1, Math.min(this.options.tasksMax, Math.floor(share / Math.max(1, instances))));
  }

  /**
   * pids.max of `targets`, leaves of a workspace with these functions' instances: the even part of
   * the share, but no more than the workspace's other leaves leave of it, each counted at the most
   * it may hold (the even part, or the tasks it holds now if more: a lower limit takes no task
   * back). Otherwise instances started one after another, each filling its box before the next
   * came, held more than the share between them (red team of 2026-12-05, third round: 16 231 of
   * 16 384 tasks against a share of 14 336). Tasks are read only when the share binds (more
   * instances than the share has boxes at the tasks limit): none on a smaller workspace's cold start.
   */
  private tasksOfLeaves(functions: Map<string, Set<string>>, targets: Iterable<string>): Map<string, number> {
    const even = this.tasksOf(functions);
    const out = new Map<string, number>();
    const share = this.workspaceTasksMax();
    let instances = 0;
    for (const siblings of functions.values()) instances += siblings.size;
    if (share === undefined || instances * this.options.tasksMax <= share) {
      for (const rid of targets) out.set(rid, even);
      return out;
    }
    const root = this.roots['pids'] ?? this.roots['unified']!;
    const claims = new Map<string, number>();
    let claimed = 0;
    for (const siblings of functions.values()) {
      for (const rid of siblings) {
        const claim = Math.max(even, num(`${root}/${this.leaf(rid)}/pids.current`) ?? 0);
        claims.set(rid, claim);
        claimed += claim;
      }
    }
    const floor = Math.min(MIN_LEAF_TASKS, Math.ceil(this.options.tasksMax / 16));
    for (const rid of targets) out.set(rid, Math.max(floor, Math.min(even, share - (claimed - claims.get(rid)!))));
    return out;
  }

  /** Writes a placed runtime's pids.max when it changes (a leaf starts at the tasks limit). */
  private writeTasks(rid: string, tasks: number): void {
    if ((this.leafTasks.get(rid) ?? this.options.tasksMax) === tasks) return;
    try {
      writeFileSync(`${this.roots['pids'] ?? this.roots['unified']!}/${this.leaf(rid)}/pids.max`, String(tasks));
      this.leafTasks.set(rid, tasks);
    } catch {
      // the runtime is going away
    }
  }

  stats(rid: string): RuntimeStats {
    if (this.version === 'v2') {
      const leaf = `${this.roots['unified']!}/${this.leaf(rid)}`;
      const usec = keyed(`${leaf}/cpu.stat`, 'usage_usec');
      return {
        memoryBytes: num(`${leaf}/memory.current`), memoryLimitBytes: num(`${leaf}/memory.max`),
        tasks: num(`${leaf}/pids.current`), tasksLimit: num(`${leaf}/pids.max`), tasksPeak: num(`${leaf}/pids.peak`),
        tasksLimitHits: keyed(`${leaf}/pids.events`, 'max') ?? 0,
        oomKills: keyed(`${leaf}/memory.events`, 'oom_kill') ?? 0,
        cpuNs: usec === null ? null : usec * 1000,
      };
    }
    const leaf = this.leaf(rid);
    const mem = `${this.roots['memory']!}/${leaf}`;
    const pids = `${this.roots['pids']!}/${leaf}`;
    const acct = `${this.roots['cpuacct'] ?? this.roots['cpu']!}/${leaf}`;
    const limit = num(`${mem}/memory.limit_in_bytes`);
    return {
      memoryBytes: num(`${mem}/memory.usage_in_bytes`),
      memoryLimitBytes: limit !== null && limit < 2 ** 62 ? limit : null,
      tasks: num(`${pids}/pids.current`), tasksLimit: num(`${pids}/pids.max`), tasksPeak: num(`${pids}/pids.peak`),
      tasksLimitHits: keyed(`${pids}/pids.events`, 'max') ?? 0,
      oomKills: keyed(`${mem}/memory.oom_control`, 'oom_kill') ?? 0,
      cpuNs: num(`${acct}/cpuacct.usage`),
    };
  }

  /**
   * A template's forked child (docs/adr/0030-function-templates.md): makes the leaves of `rid`,
   * moves host process `pid` into them and writes its function's limits from here (the child is
   * already boxed and cannot). Its memory allowance is on top of what the leaf is charged after
   * the move: the pages it shares with its template stay charged to the template's leaf.
   */
  adopt(rid: string, pid: number, fnName: string, memoryBytes: number): void {
    const cg = this.forRuntime(rid);
    for (const file of cg.join) writeFileSync(file, String(pid));
    const onHost = (path: string): string => {
      if (path === OOM_SCORE_ADJ) return `/proc/${pid}/oom_score_adj`;
      const [name, ...rest] = path.slice(IN_BOX.length + 1).split('/');
      return `${cg.binds[name!]!}/${rest.join('/')}`;
    };
    for (const op of this.place(rid, fnName, memoryBytes)) {
      if ('limit' in op) {
        const limit = String((num(onHost(op.usage)) ?? 0) + op.bytes);
        writeFileSync(onHost(op.limit), limit);
        if (op.alsoLimit !== undefined) writeFileSync(onHost(op.alsoLimit), limit);
      } else {
        for (const [path, value] of Object.entries(op.write)) writeFileSync(onHost(path), value);
      }
    }
  }

  /**
   * Leaves for one dependency build (controlplane/deps/builder.ts), joined by its keeper at spawn:
   * `memoryBytes` for the whole box (every process of it, and its /tmp), written from here, and
   * the options' tasks. Returns their `cgroup.procs` files; `release(id)` once the build is gone.
   */
  forBuild(id: string, memoryBytes: number): string[] {
    const { join } = this.forRuntime(id);
    const limit = String(memoryBytes);
    if (this.version === 'v2') {
      writeFileSync(`${this.roots['unified']!}/${this.leaf(id)}/memory.max`, limit);
    } else {
      writeFileSync(`${this.roots['memory']!}/${this.leaf(id)}/memory.limit_in_bytes`, limit);
      if (this.swapAccounted) writeFileSync(`${this.roots['memory']!}/${this.leaf(id)}/memory.memsw.limit_in_bytes`, limit);
      if (this.socketsAccountable) writeFileSync(`${this.roots['memory']!}/${this.leaf(id)}/${SOCKETS_LIMIT}`, limit);
    }
    return join;
  }

  /** The host pids in the leaf of `rid` (what is left of a forked child when it is killed). */
  pids(rid: string): number[] {
    const root = this.roots['pids'] ?? this.roots['unified'];
    try {
      return readFileSync(`${root!}/${this.leaf(rid)}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Removes a dead runtime's leaves (retrying while its last processes exit). */
  async release(rid: string): Promise<void> {
    const fnName = this.placed.get(rid);
    this.placed.delete(rid);
    this.leafTasks.delete(rid);
    this.leafCpu.delete(rid);
    this.leafMemory.delete(rid);
    if (fnName !== undefined) {
      const workspace = workspaceOfKey(fnName);
      const functions = this.byWorkspace.get(workspace);
      const siblings = functions?.get(fnName);
      siblings?.delete(rid);
      if (siblings !== undefined && siblings.size === 0) functions!.delete(fnName);
      if (functions !== undefined && functions.size === 0) this.byWorkspace.delete(workspace);
      else this.rebalanceSoon(workspace);
    }
    const leaf = this.leaf(rid);
    for (const root of Object.values(this.roots)) await removeWhenEmpty(`${root}/${leaf}`);
    this.leaves.delete(rid);
  }

  /** The CPU weight file and value of one of `instances` instances of one of a workspace's `functions`. */
  private cpuWeight(functions: number, instances: number): [string, string] {
    const shares = Math.max(2, Math.round(this.options.cpuShares / Math.max(1, functions) / Math.max(1, instances)));
    return this.version === 'v2' ? ['cpu.weight', String(sharesToWeight(shares))] : ['cpu.shares', String(shares)];
  }

  /**
   * Gives every instance of the workspace's functions its even share of the workspace's tasks after
   * this turn, and of its CPU weight REWEIGH_DELAY_MS later (`reweighLater`).
   */
  private rebalanceSoon(workspace: string): void {
    this.reweighLater(workspace);
    if (this.rebalancing.has(workspace)) return;
    this.rebalancing.add(workspace);
    setImmediate(() => {
      this.rebalancing.delete(workspace);
      const functions = this.byWorkspace.get(workspace);
      if (functions === undefined || this.closed) return;
      // Only read and written when the workspace's share binds (tasksOfLeaves): a limit, so not deferred.
      const tasks = this.tasksOfLeaves(functions, [...functions.values()].flatMap((siblings) => [...siblings]));
      for (const siblings of functions.values()) for (const rid of siblings) this.writeTasks(rid, tasks.get(rid)!);
    });
  }

  /**
   * The workspace's other leaves get their new CPU weight a little later, not in the milliseconds
   * the new box is being built: a new function changes the weight of every instance of its
   * workspace, one file write each (~10-25 µs), and those writes ran on the event loop while the
   * cold start they followed waited for its runtime (0.3-0.45 ms with 17-32 live functions). A
   * burst of cold starts in one workspace writes each weight once. Until then the workspace's
   * weights add up to a little more than its share (weights are relative: a few milliseconds of
   * CPU fairness, no limit). docs/adr/0237-cpu-weights-reweighed-off-the-cold-start.md.
   */
  private reweighLater(workspace: string): void {
    if (this.reweighing.has(workspace) || this.closed) return;
    const timer = setTimeout(() => {
      this.reweighing.delete(workspace);
      const functions = this.byWorkspace.get(workspace);
      if (functions === undefined || this.closed) return;
      const root = this.version === 'v2' ? this.roots['unified']! : this.roots['cpu']!;
      for (const siblings of functions.values()) {
        const [file, value] = this.cpuWeight(functions.size, siblings.size);
        for (const rid of siblings) {
          // Only a changed share is written (~7 µs a file): another function's new instance changes its own siblings' shares, not these.
          if (this.leafCpu.get(rid) === value) continue;
          try {
            writeFileSync(`${root}/${this.leaf(rid)}/${file}`, value);
            this.leafCpu.set(rid, value);
          } catch {
            // the runtime is going away
          }
        }
      }
    }, REWEIGH_DELAY_MS);
    timer.unref();
    this.reweighing.set(workspace, timer);
  }

  /** Removes the platform's directories (every runtime must be gone). */
  close(): void {
    this.closed = true;
    this.stock.length = 0;
    for (const timer of this.reweighing.values()) clearTimeout(timer);
    this.reweighing.clear();
    for (const root of Object.values(this.roots)) removeTree(root);
    if (this.guard.joinAlso !== null) removeTree(this.guard.dir!);
  }
}

/**
 * The tasks all of a platform's boxes may have together: half of what the host can have
 * (`kernel.pid_max`, `kernel.threads-max`), so the rest of the host always keeps the other half.
 */
export function hostTaskShare(): number | undefined {
  const read = (file: string): number | null => {
    try {
      const n = Number(readFileSync(file, 'utf8').trim());
      return Number.isSafeInteger(n) && n > 0 ? n : null;
    } catch {
      return null;
    }
  };
  const limits = [read('/proc/sys/kernel/pid_max'), read('/proc/sys/kernel/threads-max')].filter((n): n is number => n !== null);
  return limits.length === 0 ? undefined : Math.floor(Math.min(...limits) / 2);
}

/**
 * The socket buffer bytes all of a platform's boxes may hold together: half of the host's TCP
 * pressure threshold (`net.ipv4.tcp_mem`'s first value, or `udp_mem`'s when lower; pages), so
 * the boxes can never push the host's sockets into pressure, let alone past the hard limit.
 */
export function hostSocketShare(): number | undefined {
  const first = (file: string): number | null => {
    try {
      const n = Number(readFileSync(file, 'utf8').trim().split(/\s+/)[0]);
      return Number.isSafeInteger(n) && n > 0 ? n : null;
    } catch {
      return null;
    }
  };
  const pages = [first('/proc/sys/net/ipv4/tcp_mem'), first('/proc/sys/net/ipv4/udp_mem')].filter((n): n is number => n !== null);
  return pages.length === 0 ? undefined : Math.floor(Math.min(...pages) / 2) * 4096;
}

/**
 * The memory all of a platform's boxes may touch together: what this process's cgroup may have (the
 * machine's memory, or less where a cgroup above it has a limit: a container's) less a quarter of
 * it, at least 1 GiB, kept for the platform, its services (the embedded FerretDB) and the kernel. So
 * the boxes together can never drive the host (or the container) to its OOM killer, which ends the
 * biggest process it finds: the platform (red team round 43, docs/adr/0209-boxes-memory-total.md).
 */
export function hostMemoryShare(): number | undefined {
  let memory = totalmem();
  const found = discover();
  const limit = (file: string): number | null => {
    const value = num(file);
    return value !== null && Number.isSafeInteger(value) && value > 0 ? value : null;
  };
  const ancestors = (mount: string, own: string, file: string): void => {
    for (let path = own; ; path = path.slice(0, path.lastIndexOf('/'))) {
      const value = limit(join2(mount, path, file));
      if (value !== null) memory = Math.min(memory, value);
      if (path === '' || path === '/') break;
    }
  };
  if (found.v2 !== null && v2Usable(found.v2)) ancestors(found.v2.mount, found.v2.own, 'memory.max');
  else if (found.v1['memory'] !== undefined) ancestors(found.v1['memory'].mount, found.v1['memory'].own, 'memory.limit_in_bytes');
  if (!(memory > 0)) return undefined;
  const share = memory - Math.max(GIB, Math.floor(memory / 4));
  return share > 0 ? Math.floor(share / 4096) * 4096 : undefined;
}

/** Guards `dir` (options.guard); its outcome: the directory, and the file to join when it is not a root's. */
function guarded(options: CgroupOptions, dir: string, joinAlso: string | null): Cgroups['guard'] {
  if (options.guard === undefined) return { dir: null, joinAlso: null, reason: 'not asked for' };
  try {
    options.guard(dir);
    return { dir, joinAlso, reason: '' };
  } catch (err) {
    return { dir: null, joinAlso: null, reason: (err as Error).message };
  }
}

function sharesToWeight(shares: number): number {
  // The kernel's own mapping between v1 shares (2..262144, 1024 default) and v2 weights (1..10000, 100 default).
  return Math.max(1, Math.min(10_000, Math.round(1 + ((shares - 2) * 9999) / 262_142)));
}

/**
 * A service process the platform runs for every tenant (the embedded FerretDB) held to a memory
 * limit in a cgroup of its own (`fp-<platform pid>-0-<pid namespace>`, removed as stale once the platform is gone):
 * a function's query (a large in-memory sort, several at once) grew the shared FerretDB to
 * gigabytes, toward the host's OOM killer (red team of 2026-12-04); past the limit the kernel kills
 * FerretDB alone, which the platform starts again. `join(pid)` puts a (re)started process in it.
 * Null when no writable memory controller is there (not root), with the reason.
 */
export function serviceCgroup(memoryBytes: number): { join(pid: number): void; close(): void } | { reason: string } {
  const found = discover();
  const name = ownName(0);
  try {
    let dir: string;
    let limits: [string, string][];
    if (found.v2 !== null && v2Usable(found.v2)) {
      const own = v2Home(join2(found.v2.mount, found.v2.own));
      enableV2Controllers(own, ['memory']);
      dir = join2(own, name);
      limits = [['memory.max', String(memoryBytes)], ['memory.swap.max', '0']];
    } else if (found.v1['memory'] !== undefined) {
      dir = join2(found.v1['memory'].mount, found.v1['memory'].own, name);
      // The swap limit (memsw) must stay at or above the memory limit, so it is written after it.
      limits = [['memory.limit_in_bytes', String(memoryBytes)], ['memory.memsw.limit_in_bytes', String(memoryBytes)]];
    } else {
      return { reason: 'no cgroup memory controller is mounted' };
    }
    mkdirSync(dir, { recursive: true });
    for (const [file, value] of limits) {
      if (existsSync(`${dir}/${file}`)) writeFileSync(`${dir}/${file}`, value);
    }
    return {
      join(pid: number) {
        writeFileSync(`${dir}/cgroup.procs`, String(pid));
      },
      close() {
        removeTree(dir);
      },
    };
  } catch (err) {
    return { reason: `cgroups are not writable (${(err as Error).message})` };
  }
}

interface Discovered {
  v1: Record<string, Hierarchy>;
  v2: Hierarchy | null;
}

/** The cgroup hierarchies mounted here and this process's place in each. */
function discover(): Discovered {
  const own = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':', 3) as [string, string | undefined, string | undefined];
    if (controllers === undefined || path === undefined) continue;
    own.set(controllers === '' ? '' : controllers, path);
  }
  const out: Discovered = { v1: {}, v2: null };
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const mountPoint = before.split(' ')[4];
    const [fstype, , superOptions] = after.split(' ');
    if (mountPoint === undefined || superOptions === undefined) continue;
    if (fstype === 'cgroup2') {
      const path = own.get('');
      if (path !== undefined) out.v2 = { mount: unescape(mountPoint), own: path };
    } else if (fstype === 'cgroup') {
      const controllers = superOptions.split(',').filter((o) => (V1_CONTROLLERS as readonly string[]).includes(o));
      const key = [...own.keys()].find((k) => k.split(',').sort().join(',') === [...controllers].sort().join(','))
        ?? [...own.keys()].find((k) => controllers.every((c) => k.split(',').includes(c)));
      if (key === undefined) continue;
      for (const c of controllers) out.v1[c] = { mount: unescape(mountPoint), own: own.get(key)! };
    }
  }
  return out;
}

/** v2 is used when its root offers memory, pids and cpu (a system where v1 holds them offers none). */
function v2Usable(h: Hierarchy): boolean {
  try {
    const offered = readFileSync(`${join2(h.mount, h.own)}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
    return V2_CONTROLLERS.every((c) => offered.includes(c));
  } catch {
    return false;
  }
}

/**
 * `fp-<pid>-<n>-<ns>` with the first n no hierarchy has yet. A counter alone is not enough: two copies
 * of this module in one process (a benchmark loading two builds, bench/ab-cold.ts) each count from
 * 1, and the second host took the first one's directories.
 */
function unusedName(found: Discovered): string {
  const parents = [...(found.v2 !== null ? [found.v2] : []), ...Object.values(found.v1)].map((h) => join2(h.mount, h.own));
  for (;;) {
    const name = ownName(++opened);
    if (parents.every((parent) => !existsSync(`${parent}/${name}`))) return name;
  }
}

/**
 * Directories of platforms that died without cleaning up: `fp-<pid>-<n>-<ns>` (and `fp-<pid>-self-<ns>`, ADR 0144) of this pid
 * namespace with a dead pid, and `fp-<pid>-<n>` (named by builds before ADR 0125) with a dead pid.
 * Another namespace's directories are left alone: whether their pid lives cannot be told from here.
 */
function removeStale(parent: string, mine: string): void {
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent)) {
    const match = /^fp-(\d+)-(?:\d+|self)(?:-(\d+))?$/.exec(entry);
    if (match === null || entry === mine || !ownerGone(Number(match[1]), match[2])) continue;
    removeTree(`${parent}/${entry}`);
  }
}

/** rmdir bottom-up (cgroup directories hold only control files, which rmdir ignores). */
function removeTree(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const entry of entries) removeTree(`${dir}/${entry}`);
  try {
    rmdirSync(dir);
  } catch {
    // still in use (a process outlived its platform): left for the next start
  }
}

async function removeWhenEmpty(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function join2(...parts: string[]): string {
  return parts.join('/').replace(/\/+/g, '/').replace(/\/$/, '');
}

function unescape(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function num(path: string): number | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text === 'max') return null;
    const value = Number(text);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** A `key value` line of a cgroup file (pids.events, memory.events, memory.oom_control, cpu.stat). */
function keyed(path: string, key: string): number | null {
  try {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k === key && v !== undefined) return Number(v);
    }
  } catch {
    // the directory is gone
  }
  return null;
}
