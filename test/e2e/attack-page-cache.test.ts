/**
 * Red team round 21 (red24): the page cache of the host files every box reads (the interpreter's
 * library, the presets' packages, a dependency site shared by lock). A function dropped their
 * pages (posix_fadvise DONTNEED, madvise PAGEOUT of its own mapping) and then saw whether another
 * tenant's process had read them since (a read with RWF_NOWAIT, or cachestat): which modules
 * another function imports and when; and every tenant's imports of those files went to the disk
 * again. The residency is checked from the host, outside any box.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/runtime-process.js';
import { attack, useAttackPlatform, victimStillAnswers, type AttackAnswer } from './attack-harness.js';

const h = useAttackPlatform();

/** Whether the first page of `path` is in the host's page cache (a read that may not wait for the disk). */
function cached(path: string): boolean {
  const python = join(repoRoot(), '.venv', 'bin', 'python');
  const code = [
    'import os, sys',
    'fd = os.open(sys.argv[1], os.O_RDONLY)',
    'try:',
    '    os.preadv(fd, [bytearray(4096)], 0, os.RWF_NOWAIT)',
    '    print("yes")',
    'except BlockingIOError:',
    '    print("no")',
  ].join('\n');
  return execFileSync(python, ['-c', code, path], { encoding: 'utf8' }).trim() === 'yes';
}

describe('attack: the page cache of shared files', () => {
  it('a function neither drops the pages of a file every box reads nor sees whether they are cached', async () => {
    // A file of the interpreter's library that nothing of the platform reads.
    const located = await attack(h, 'import os, turtledemo\nout(os.path.join(os.path.dirname(turtledemo.__file__), "bytedesign.py"))');
    const path = located.out[0] as string;
    assert.match(path, /turtledemo\/bytedesign\.py$/, JSON.stringify(located));
    readFileSync(path);
    assert.ok(cached(path), 'read on the host, so cached');
    // Python run in the attacker with `fd` open on the file, read-only.
    const onFile = (...lines: string[]): Promise<AttackAnswer> => attack(h, ['import ctypes, mmap, os', `fd = os.open(${JSON.stringify(path)}, os.O_RDONLY)`, ...lines].join('\n'));
    const dropped = await onFile(
      'out(len(os.pread(fd, 100, 0)))',
      'os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)',
      'mmap.mmap(fd, 0, prot=mmap.PROT_READ).madvise(21)  # MADV_PAGEOUT',
      'out("advised")',
    );
    assert.deepEqual(dropped.out, [100, 'advised'], JSON.stringify(dropped));
    assert.ok(cached(path), 'the function dropped the pages of a file every box shares');
    // A read with RWF_NOWAIT may start the read it may not wait for, so it is tried after the host's look.
    const probed = await onFile(
      'try:',
      '    os.preadv(fd, [bytearray(4096)], 0, os.RWF_NOWAIT)',
      '    out("nowait read")',
      'except OSError as err:',
      '    out(err.errno)',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'ctypes.set_errno(0)',
      'out([libc.syscall(451, fd, None, ctypes.create_string_buffer(64), 0), ctypes.get_errno()])',
    );
    assert.deepEqual(probed.out, [95, [-1, 1]], `RWF_NOWAIT: EOPNOTSUPP; cachestat: EPERM: ${JSON.stringify(probed)}`);
    await victimStillAnswers(h);
  });
});
