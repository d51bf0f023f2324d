/**
 * One change at a time per function: deploys, rollbacks, pauses, settings changes and token
 * rotations of the same function run one after the other, so each reads the state the previous
 * one left (e.g. "roll back to the version before the active one") and the gateway's view is
 * updated in the order the store was. Different functions never wait for each other.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
