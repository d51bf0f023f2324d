/**
 * Who loses runs when the run store is over its size cap (docs/stores.md, "By size"): the runs of
 * whichever workspace holds the most bytes go first, and within it those of whichever function
 * holds the most, oldest first within it. A function that fails every call with full logs then
 * only pushes out its own history, not its neighbours' (the cap used to take the oldest runs
 * store-wide: a flooding function emptied every other workspace's history); nor can a workspace
 * spread its flood over many functions, each lighter than another tenant's busiest one, to have
 * that tenant's history go first. Both run stores (SQLite, MongoDB) plan with this and delete each
 * function's oldest runs.
 */

import { workspaceOfKey } from '../../protocol/index.js';

/** What a function holds in the run store. */
export interface FunctionWeight {
  function: string;
  /** Its run records (attempts). */
  runs: number;
  /** What they take, as the store can tell cheaply (their log bytes plus RECORD_BYTES each, plus each one's extraRecordBytes). */
  bytes: number;
}

/** What a run record takes besides its logs, at least (its summary: timings, error, ids). */
export const RECORD_BYTES = 1024;

/**
 * What a stored run record takes past RECORD_BYTES besides its logs: its summary's UTF-8 bytes
 * beyond them (0 for nearly every record). An error's message and traceback may hold 64 Ki
 * characters each (~256 KB): counted as 1 KiB, a tenant failing with such errors and no log line
 * filled the cap while weighing less than another tenant's few runs with a little log text, whose
 * history then went first (red team round 34). Both stores keep it beside each record.
 */
export function extraRecordBytes(summaryJson: string): number {
  // Below RECORD_BYTES characters no UTF-8 encoding reaches RECORD_BYTES × 3: only long ones are measured.
  if (summaryJson.length * 3 <= RECORD_BYTES) return 0;
  return Math.max(0, Buffer.byteLength(summaryJson, 'utf8') - RECORD_BYTES);
}

/**
 * How many of each function's oldest runs to delete so that `count` records go: the heaviest
 * function's first, down to the next one's bytes, then both, and so on (water filling: whatever is
 * left after the deletions is as even as they allow). Found as the highest level L at which the
 * runs over L number at least `count`; each function loses the runs it holds above L, and the
 * rounding's few extra deletions are given back by the functions cut deepest below L. Functions
 * that lose nothing are left out; the counts sum to `count` (or to every run, if there are fewer).
 */
export function evictionPlan(weights: readonly FunctionWeight[], count: number): Map<string, number> {
  // Workspaces first, as if each were one function holding all of its functions' runs and bytes.
  const groups = new Map<string, FunctionWeight[]>();
  for (const w of weights) {
    const workspace = workspaceOfKey(w.function);
    let group = groups.get(workspace);
    if (group === undefined) groups.set(workspace, (group = []));
    group.push(w);
  }
  const totals = [...groups].map(([workspace, group]) => ({
    function: workspace,
    runs: group.reduce((sum, w) => sum + Math.max(0, w.runs), 0),
    bytes: group.reduce((sum, w) => sum + Math.max(0, w.bytes), 0),
  }));
  const plan = new Map<string, number>();
  for (const [workspace, n] of waterFill(totals, count)) for (const [fn, k] of waterFill(groups.get(workspace)!, n)) plan.set(fn, k);
  return plan;
}

/** The water filling above over one level (workspaces, or one workspace's functions). */
function waterFill(weights: readonly FunctionWeight[], count: number): Map<string, number> {
  const held = weights.filter((w) => w.runs > 0).map((w) => ({ function: w.function, runs: w.runs, bytes: Math.max(0, w.bytes), per: Math.max(1, w.bytes / w.runs) }));
  const todo = Math.min(Math.max(0, Math.floor(count)), held.reduce((sum, w) => sum + w.runs, 0));
  const plan = new Map<string, number>();
  if (todo === 0) return plan;
  const over = (level: number, w: (typeof held)[number]): number => Math.min(w.runs, Math.max(0, Math.ceil((w.bytes - level) / w.per)));
  const total = (level: number): number => held.reduce((sum, w) => sum + over(level, w), 0);
  // total(0) is every run, so at least `todo`; search the highest level that still gives `todo`.
  let low = 0;
  let high = Math.max(...held.map((w) => w.bytes));
  for (let i = 0; i < 64 && high - low > 1e-6 * Math.max(1, high); i++) {
    const mid = (low + high) / 2;
    if (total(mid) >= todo) low = mid;
    else high = mid;
  }
  const cut = held.map((w) => ({ w, n: over(low, w) }));
  let excess = cut.reduce((sum, c) => sum + c.n, 0) - todo;
  // Give the rounding back where a deletion went deepest below the level.
  cut.sort((a, b) => (a.w.bytes - a.n * a.w.per) - (b.w.bytes - b.n * b.w.per));
  for (let i = 0; excess > 0; i = (i + 1) % cut.length) {
    if (cut[i]!.n > 0) {
      cut[i]!.n--;
      excess--;
    }
  }
  for (const { w, n } of cut) if (n > 0) plan.set(w.function, n);
  return plan;
}
