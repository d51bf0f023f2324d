/**
 * Whether a run of a function key belongs to the function now under that key (ADR 0235): one
 * deleted and created again (the same workspace's, or another tenant's under a recycled workspace
 * name, or one a restored store brought back) does not inherit another incarnation's runs, their
 * requests, results and logs (red team 5). `born` is the createdAt of the function now under the
 * key (undefined: no function now, the key keeps its runs until pruned); `incarnation` the run's own
 * (the createdAt of the function it was accepted for or served by) where it was kept, compared
 * whatever the clocks did; a run kept without one (accepted or written before it was kept) is
 * judged by its time `at`, as before. The one rule of `GET /runs/<id>`, its replay and cancel, and
 * of the logs of a run by id.
 */
export function ofIncarnation(born: number | undefined, incarnation: number | null | undefined, at: number | null): boolean {
  if (born === undefined) return true;
  if (incarnation !== null && incarnation !== undefined) return incarnation === born;
  return at === null || at >= born;
}
