/**
 * Native threads whose library handles a fork keep no version from a template
 * (runtime/fp_runtime/template.py, `_openblas_workers`, `_jemalloc_threads`; docs/poolmgr.md,
 * "Templates"; ADR 0115). numpy's and scipy's wheels load an OpenBLAS
 * that starts `num_threads - 1` workers at load and stops them before a fork (pthread_atfork): on a
 * 2-core host every app importing numpy (pandas, Plotly Dash) was refused a template, and each
 * scale-out instance imported it all again (apps round 19). Here stand-in libraries, built with the
 * C compiler (numpy is not among the test packages), named and answering as OpenBLAS builds do.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoPath, repoRoot } from '../helpers/runtime-process.js';

const SOURCE = `
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>
#define CAT(a, b, c) a##b##c
#define XCAT(a, b, c) CAT(a, b, c)
#define NAME(x) XCAT(PREFIX, openblas_get_##x, SUFFIX)
static void *idle(void *arg) { (void)arg; for (;;) pause(); return 0; }
__attribute__((constructor)) static void start(void) {
  for (int i = 1; i < THREADS; i++) {
    pthread_t t; pthread_create(&t, 0, idle, 0);
#ifdef THREAD_NAME
    pthread_setname_np(t, THREAD_NAME);
#endif
  }
}
int NAME(num_threads)(void) { return THREADS; }
int NAME(parallel)(void) { return PARALLEL; }
`;

function hasCompiler(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('a template and native threads that survive a fork', { skip: hasCompiler() ? false : 'no C compiler' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-openblas-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'blas.c'), SOURCE);
  writeFileSync(join(dir, 'plain.c'), SOURCE.replace(/^int NAME.*$/gm, '')); // threads only, no OpenBLAS functions
  /** A stand-in library `file` with `threads` threads, `parallel` (1 pthreads, 2 OpenMP) and its symbols' prefix and suffix. */
  const build = (file: string, threads: number, parallel: number, prefix = '', suffix = ''): string => {
    const out = join(dir, file);
    execFileSync('cc', ['-shared', '-fPIC', '-pthread', '-o', out, join(dir, 'blas.c'), `-DTHREADS=${threads}`, `-DPARALLEL=${parallel}`,
      `-DPREFIX=${prefix}`, `-DSUFFIX=${suffix}`]);
    return out;
  };
  /** The threads `_extra_threads` counts against a template after loading `libs` (and starting a plain thread when `thread`). */
  const extra = (libs: string[], thread = false): number => {
    const script = [
      'import ctypes, sys, threading, time',
      ...libs.map((lib) => `ctypes.CDLL(${JSON.stringify(lib)})`),
      thread ? 'threading.Thread(target=time.sleep, args=(30,), daemon=True).start()' : '',
      `sys.path.insert(0, ${JSON.stringify(repoPath('runtime'))})`,
      'from fp_runtime import template',
      'print(template._extra_threads(False))',
    ].join('\n');
    return Number(execFileSync(join(repoRoot(), '.venv', 'bin', 'python'), ['-I', '-c', script], { encoding: 'utf8' }).trim());
  };

  it("does not count the workers of a pthreads OpenBLAS (numpy's scipy-openblas, a system libopenblas), and counts every other thread", () => {
    const numpys = build('libscipy_openblas64_-32a4b2a6.so', 3, 1, 'scipy_', '64_');
    const system = build('libopenblas.so.0', 2, 1);
    assert.equal(extra([numpys]), 0, "numpy's 2 workers");
    assert.equal(extra([numpys, system]), 0, 'two libraries: 3 workers');
    assert.equal(extra([numpys], true), 1, 'a thread the module started is still one');
  });

  it('counts the threads of an OpenMP build (not safe to fork) and of a library that only has the name', () => {
    assert.equal(extra([build('libopenblasp-omp.so', 3, 2)]), 2);
    execFileSync('cc', ['-shared', '-fPIC', '-pthread', '-o', join(dir, 'libopenblas-fake.so'), join(dir, 'plain.c'), '-DTHREADS=2']);
    assert.equal(extra([join(dir, 'libopenblas-fake.so')]), 1);
  });

  // pyarrow's jemalloc starts its background thread at import (so does pandas 3 with pyarrow
  // installed); jemalloc's postfork handler turns background threads off in the child.
  it("does not count jemalloc's background thread (jemalloc_bg_thd), and counts a thread of another name", () => {
    const named = (file: string, name: string): string => {
      const out = join(dir, file);
      execFileSync('cc', ['-shared', '-fPIC', '-pthread', '-o', out, join(dir, 'plain.c'), '-DTHREADS=2', `-DTHREAD_NAME="${name}"`]);
      return out;
    };
    assert.equal(extra([named('libarrow-stand-in.so', 'jemalloc_bg_thd')]), 0);
    assert.equal(extra([named('libpolars-stand-in.so', 'polars-ooc-clea'), named('libarrow-stand-in2.so', 'jemalloc_bg_thd')]), 1);
  });
});
