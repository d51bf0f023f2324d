/**
 * runtime/fp_deps/build.py's `pip_message` on pip's real wording, on a real interpreter: what a
 * failed resolution is said to mean. A misspelt name and a conflicting pin both got "this platform
 * installs wheels only" (helper round of 2026-12-04), and pip's list of every release went whole
 * into the message (70 versions of urllib3).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pythonPath } from '../../cli/python.js';
import { ROOT } from '../helpers/cli-harness.js';

const PYTHON = pythonPath(undefined);

function message(output: string, sdists = false, maxBytes = 0): string {
  const script = 'import json, sys; sys.path.insert(0, sys.argv[1]); from fp_deps.build import classify, pip_message; o = sys.stdin.read(); print(json.dumps([classify(o), pip_message(o, classify(o), sys.argv[2] == "1", int(sys.argv[3]))]))';
  const [code, text] = JSON.parse(execFileSync(PYTHON, ['-I', '-c', script, join(ROOT, 'runtime'), sdists ? '1' : '0', String(maxBytes)], { input: output, encoding: 'utf8' })) as [string, string];
  return `${code}: ${text}`;
}

describe('what a failed dependency resolution says', () => {
  it('no release at all: a misspelt name, or sources only (psycopg2: use psycopg2-binary)', () => {
    const typo = message('ERROR: Could not find a version that satisfies the requirement reqeusts (from versions: none)\nERROR: No matching distribution found for reqeusts\n');
    assert.match(typo, /^DEPS_NOT_FOUND: .*\n.*\n\(no release with a wheel for this Python: the name is misspelt, or the package is published as sources only, and this platform installs wheels only: its operator allows sources with FP_DEPS_ALLOW_SDIST=1, whose build scripts then run in the builder's box; docs\/dependencies\.md\)$/);
    const sources = message('ERROR: Could not find a version that satisfies the requirement psycopg2==2.9.10 (from versions: none)\nERROR: No matching distribution found for psycopg2==2.9.10\n');
    assert.match(sources, /; use 'psycopg2-binary' instead\)$/);
    const allowed = message('ERROR: Could not find a version that satisfies the requirement reqeusts (from versions: none)\nERROR: No matching distribution found for reqeusts\n', true);
    assert.match(allowed, /\(no release at all: check the name's spelling, and the package index in use\)$/);
  });

  it('releases exist but none fits the pins: said so, with the list of releases cut short', () => {
    const versions = Array.from({ length: 70 }, (_, i) => `1.${i}`).join(', ');
    const pinned = message(`ERROR: Could not find a version that satisfies the requirement urllib3<1,>=2 (from versions: ${versions})\nERROR: No matching distribution found for urllib3<1,>=2\n`);
    assert.match(pinned, /\(from versions: 1\.0, 1\.1, 1\.2, … 62 more …, 1\.65, 1\.66, 1\.67, 1\.68, 1\.69\)/);
    assert.match(pinned, /\(releases exist, listed above, but none fits the version constraints given: check the pins, and pins of the same package in other lines\)$/);
    assert.doesNotMatch(pinned, /wheels only/);
  });

  it('a file over the size limit names the limit, the file pip was fetching and who raises it; torch also its CPU-only way (apps round 26)', () => {
    // pip's own words for torch from PyPI (a 539 MB wheel): nothing said which limit or how to raise it.
    const torch = message([
      'Collecting torch (from -r /run/fp-build/requirements.in (line 1))',
      '  Downloading torch-2.15.0-cp311-cp311-manylinux_2_28_x86_64.whl (539.1 MB)',
      'ERROR: Could not install packages due to an OSError: [Errno 27] File too large',
      '',
    ].join('\n'), false, 512 * 1024 * 1024);
    assert.match(torch, /^DEPS_TOO_LARGE: ERROR: Could not install packages due to an OSError: \[Errno 27\] File too large\n/);
    assert.match(torch, /at most 512 MiB for the installed packages and for any one file; pip was fetching torch-2\.15\.0-cp311-cp311-manylinux_2_28_x86_64\.whl \(539\.1 MB\)/);
    assert.match(torch, /raise FP_DEPS_MAX_BYTES/);
    assert.match(torch, /CPU-only wheel index \(FP_DEPS_EXTRA_INDEX_URLS\), or export the model to ONNX and declare onnxruntime/);
    const tmp = message('  Downloading pyarrow-26.0.1-cp311-cp311-manylinux_2_28_x86_64.whl (48.2 MB)\nERROR: Could not install packages due to an OSError: [Errno 28] No space left on device\n', false, 64 * 1024 * 1024);
    assert.match(tmp, /^DEPS_TOO_LARGE: .*\n\(the dependency builder takes at most 64 MiB .*pyarrow-26\.0\.1-.*\(48\.2 MB\): drop packages/);
    assert.doesNotMatch(tmp, /torch/);
  });
});
