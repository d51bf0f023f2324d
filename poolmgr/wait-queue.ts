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
