/** RUNTIME_CRASHED says what most likely ended the process (poolmgr/instance.ts crashCause; newcomer round 5). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crashCause } from '../../poolmgr/instance.js';

describe('crashCause', () => {
  it('an exit status is the function ending its process (os._exit)', () => {
    assert.match(crashCause({ exitCode: 0, signal: null }), /the function's code most likely ended its process \(os\._exit\(0\)/);
    assert.match(crashCause({ exitCode: 3, signal: null }), /os\._exit\(3\)/);
  });
  it('a crash signal is native code; other signals and unknown exits say nothing more', () => {
    assert.match(crashCause({ exitCode: null, signal: 'SIGSEGV' }), /a crash in native code/);
    // A segfault can be a thread's stack too small for native code (apps round 8: numpy's linalg.inv
    // in a ThreadPoolExecutor worker, 1 MiB): the message says how to give it uvicorn's 8 MiB.
    assert.match(crashCause({ exitCode: null, signal: 'SIGSEGV' }), /threading\.stack_size\(8 \* 1024 \* 1024\)/);
    assert.doesNotMatch(crashCause({ exitCode: null, signal: 'SIGABRT' }), /stack_size/);
    assert.match(crashCause({ exitCode: null, signal: 'SIGABRT' }), /os\.abort\(\)/);
    assert.equal(crashCause({ exitCode: null, signal: 'SIGKILL' }), '');
  });
  it("a timer's signal with no handler (signal.alarm as a timeout guard) says so and how to set one (oddfn round: the bare name read as the platform's fault)", () => {
    assert.match(crashCause({ exitCode: null, signal: 'SIGALRM' }), /signal\.alarm\(\) or signal\.setitimer\(\)\) went off with no handler for SIGALRM.*signal\.signal\(signal\.SIGALRM, handler\)/);
    assert.match(crashCause({ exitCode: null, signal: 'SIGPROF' }), /no handler for SIGPROF/);
    assert.match(crashCause({ exitCode: null, signal: 'SIGTERM' }), /os\.kill\(os\.getpid\(\), signal\.SIGTERM\).*default action ends the process/);
    assert.match(crashCause({ exitCode: null, signal: 'SIGUSR1' }), /signal\.SIGUSR1/);
    assert.equal(crashCause({ exitCode: null, signal: null }), '');
  });
});
