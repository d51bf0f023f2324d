/**
 * The calls sent to one runtime and not yet ended, found by message id: what an Instance kept in a
 * `Map<number, Call>` until issue 11.
 *
 * Why not a Map: an instance lives long and its map churned, one `set` and one `delete` per call
 * with ids always new, and that kept a quarter of every request's objects (the call, its event, the
 * request's exchange, the runtime's reply) alive through two scavenges, so they were promoted
 * instead of dying young. Likely (the cause is measured, V8's internals were not traced): the map
 * rebuilds its table every few dozen calls, each dead table sits in the old generation still
 * pointing at the calls it held, and a scavenge takes those pointers as roots until a full GC finds
 * the table dead. `--trace-gc-nvp` showed 21-26 % of the bytes allocated promoted
 * and 4-15 ms per scavenge, against 0.1 % and under 2 ms with this table (bench/README.md, "Fewer
 * µs per request"). An array searched from the front finds a reply's call at once: calls end about
 * in the order they were sent, and there are at most concurrency + pipelineDepth of them.
 */
export class CallTable<T extends { msgId: number }> {
  private items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Adds a call under its `msgId` (set before; ids are unique per runtime). */
  add(call: T): void {
    this.items.push(call);
  }

  get(msgId: number): T | undefined {
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      const call = items[i]!;
      if (call.msgId === msgId) return call;
    }
    return undefined;
  }

  /** Removes the call of `msgId`; false when there is none. */
  delete(msgId: number): boolean {
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      if (items[i]!.msgId !== msgId) continue;
      if (i === 0) items.shift();
      else items.splice(i, 1);
      return true;
    }
    return false;
  }

  /** The calls in the order they were added: a copy, so the caller may end calls while going through it. */
  values(): T[] {
    return this.items.slice();
  }

  clear(): void {
    this.items = [];
  }
}
