/**
 * Feed ids: `<ms>-<seq>`, the shape of Redis stream ids (the production feed's ids are Redis's;
 * the embedded feed makes its own the same way: the time in ms, then a counter within that ms).
 * They order the entries of a function's feed and are the SSE event ids a client resumes from.
 */

export interface FeedId {
  readonly ms: number;
  readonly seq: number;
}

const ID = /^([0-9]{1,15})-([0-9]{1,15})$/;

/** The id, or null when `text` is not one (a client's Last-Event-ID is checked with this). */
export function parseFeedId(text: string): FeedId | null {
  const m = ID.exec(text);
  return m === null ? null : { ms: Number(m[1]), seq: Number(m[2]) };
}

export function formatFeedId(id: FeedId): string {
  return `${id.ms}-${id.seq}`;
}

/** <0, 0, >0 as `a` is before, equal to, after `b`. */
export function compareFeedIds(a: FeedId, b: FeedId): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.seq - b.seq;
}

export const ZERO_ID: FeedId = Object.freeze({ ms: 0, seq: 0 });

/** Makes increasing ids from a clock that may stand still or step back (the embedded feed). */
export class IdClock {
  private last: FeedId;

  constructor(private readonly now: () => number, start?: FeedId) {
    this.last = start ?? { ms: now(), seq: 0 };
  }

  /** The last id given (or the start). */
  get current(): FeedId {
    return this.last;
  }

  next(): FeedId {
    const ms = this.now();
    this.last = ms > this.last.ms ? { ms, seq: 0 } : { ms: this.last.ms, seq: this.last.seq + 1 };
    return this.last;
  }
}
