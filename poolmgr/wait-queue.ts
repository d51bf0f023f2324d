/**
 * A FIFO of waiting calls with O(1) push, shift and removal from the middle (a call that times out
 * or is aborted leaves from wherever it is). The links live on the items: no node allocations.
 */
export interface QueueLinks<T> {
  prev: T | null;
  next: T | null;
  /** The queue holding the item, or null (items narrow it to their own queue type). */
  queuedIn: object | null;
}

export class WaitQueue<T extends QueueLinks<T>> {
  head: T | null = null;
  private tail: T | null = null;
  length = 0;

  push(item: T): void {
    if (item.queuedIn !== null) throw new Error('item is already queued');
    item.queuedIn = this;
    item.prev = this.tail;
    item.next = null;
    if (this.tail === null) this.head = item;
    else this.tail.next = item;
    this.tail = item;
    this.length++;
  }

  /** Puts an item at the front (a call handed back after its instance died). */
  unshift(item: T): void {
    if (item.queuedIn !== null) throw new Error('item is already queued');
    item.queuedIn = this;
    item.prev = null;
    item.next = this.head;
    if (this.head === null) this.tail = item;
    else this.head.prev = item;
    this.head = item;
    this.length++;
  }

  shift(): T | null {
    const item = this.head;
    if (item !== null) this.remove(item);
    return item;
  }

  /** Takes the item out; a no-op when it is not in this queue. */
  remove(item: T): void {
    if (item.queuedIn !== this) return;
    if (item.prev === null) this.head = item.next;
    else item.prev.next = item.next;
    if (item.next === null) this.tail = item.prev;
    else item.next.prev = item.prev;
    item.prev = item.next = null;
    item.queuedIn = null;
    this.length--;
  }
}

/** An item with a deadline of its own in a TimedWaitQueue. */
export interface Deadlined {
  /** performance.now() past which it may wait no longer; Infinity: no limit. */
  deadline: number;
  /** Its deadline passed while it waited: it leaves the queue (and fails). */
  expire(): void;
}

function onSweep(queue: { sweep(): void }): void {
  queue.sweep();
}

/**
 * A WaitQueue whose items' deadlines share ONE timer (issue 11): under load most calls wait, and a
 * setTimeout plus a clearTimeout for each of them were a timer-list insert and removal per request.
 * The timer is armed for the earliest deadline; when it fires, every item past its deadline
 * expires and it re-arms for the next one; it is cleared when the queue empties, so an idle queue
 * holds no timer (as the calls' own timers were cleared when they left). An item expires no
 * earlier than its deadline, and at most a timer's granularity (~1 ms) later, as with its own
 * setTimeout.
 */
export class TimedWaitQueue<T extends QueueLinks<T> & Deadlined> extends WaitQueue<T> {
  private timer: NodeJS.Timeout | undefined = undefined;
  /** The deadline the timer is armed for (Infinity: none). */
  private timerAt = Infinity;

  constructor(private readonly now: () => number = () => performance.now()) {
    super();
  }

  /** After an item with a finite deadline was queued: the timer fires by then. */
  watch(deadline: number): void {
    if (deadline < this.timerAt) this.arm(deadline);
  }

  override remove(item: T): void {
    super.remove(item);
    if (this.length === 0 && this.timer !== undefined) this.disarm();
  }

  /** @internal the timer fired: items past their deadline expire; the timer re-arms for the earliest left. */
  sweep(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    const expired: T[] = [];
    for (let item = this.head; item !== null; item = item.next) if (item.deadline <= now) expired.push(item);
    // Expiring fails a call, which may change the queue (settling is synchronous): each is checked again.
    for (const item of expired) if (item.queuedIn === this) item.expire();
    let next = Infinity;
    for (let item = this.head; item !== null; item = item.next) if (item.deadline < next) next = item.deadline;
    if (next < this.timerAt) this.arm(next);
  }

  private arm(deadline: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    // Never early: setTimeout rounds to whole ms and may fire just before `deadline` by
    // performance.now(); the sweep then finds nothing expired and re-arms (at most 1 ms later).
    this.timer = setTimeout(onSweep, Math.max(1, Math.ceil(deadline - this.now())), this);
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
