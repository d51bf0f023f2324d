/**
 * A new function's createdAt, which names its incarnation (ADR 0190's stamp on runs and logs, a
 * delete's `ifCreatedAt`, ADR 0181): `now`, or just after `earlier`, the createdAt of the previous
 * function of the name, when this clock has not passed it: a delete and a create again in the same
 * millisecond, a clock that went back, another process's clock ahead of this one. So each function
 * of a name has a later createdAt than the one before (ADR 0211).
 */
export function laterThan(earlier: number | undefined, now: number): number {
  return earlier !== undefined && earlier >= now ? earlier + 1 : now;
}
