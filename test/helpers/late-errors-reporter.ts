/**
 * A second test reporter (scripts/test.sh, after `spec`): repeats, after the run's summary, each
 * error thrown after its test had ended (a stream written after it was ended, a timer's throw). Node
 * reports such an error once, as an `ℹ` line where it happened, marks its test passed and fails the
 * file as `'test failed'` alone: in a 20-minute CI log the summary named the file, not the error.
 * A Transform stream as `spec` is, not an async generator: what a generator yields at the end is
 * lost when the runner exits (`--test-force-exit`).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { TestEvent } from 'node:test/reporters';

const LATE = /generated asynchronous activity after the test ended/;

export default class LateErrors extends Transform {
  readonly #late: string[] = [];

  constructor() {
    super({ writableObjectMode: true });
  }

  override _transform(event: TestEvent, _encoding: BufferEncoding, done: TransformCallback): void {
    if (event.type === 'test:diagnostic' && LATE.test(event.data.message)) this.#late.push(event.data.message);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#late.length > 0) {
      this.push(`\n✖ errors after their test had ended (their file fails as 'test failed'): ${this.#late.length}\n`);
      for (const message of this.#late) this.push(`  ${message}\n`);
    }
    done();
  }
}
