/**
 * Django per-call mode (runtime/fp_runtime/django_prefix.py, ADR 0212) keeps the storages made at
 * each script prefix. A trusted proxy that passes a client's `X-Forwarded-Prefix` through gives every
 * new prefix its own, and they were kept for the instance's life: 1 000 prefixes, 1 000 storages of
 * each kind (red team round 41). Now at most MAX_PREFIXES (16), the least recently made going, and a
 * prefix whose storage went gets one made again with its own prefix. Real Django (the tests' venv).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoPath, repoRoot } from '../helpers/runtime-process.js';

const PYTHON = join(repoRoot(), '.venv', 'bin', 'python');
const skip = spawnSync(PYTHON, ['-c', 'import django'], { stdio: 'ignore' }).status === 0 ? false : "Django is not installed in the tests' venv (runtime/requirements-dev.txt)";

describe('Django storages per script prefix', { skip }, () => {
  it('keeps those of 16 prefixes at most, however many a proxy forwards, each naming its own prefix', () => {
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(repoPath('runtime'))})`,
      'import django',
      'from django.conf import settings',
      'settings.configure(SECRET_KEY="x", INSTALLED_APPS=["django.contrib.staticfiles"], STATIC_URL="static/", MEDIA_URL="media/", ROOT_URLCONF=__name__)',
      'urlpatterns = []',
      'django.setup()',
      'from django.urls import set_script_prefix',
      'from django.core.files.storage import storages, default_storage',
      'from django.contrib.staticfiles.storage import staticfiles_storage',
      'from fp_runtime import django_prefix',
      // Concurrency 2 and a switch of mount point: per-call mode.
      'django_prefix.follow("", 2)',
      'django_prefix.follow("/fn/a", 2)',
      'def urls(p):',
      '    set_script_prefix(p)',
      '    return [storages["staticfiles"].base_url, staticfiles_storage.base_url, default_storage.base_url]',
      'made = {p: urls(p) for p in (f"/p{i}/" for i in range(1000))}',
      'print(json.dumps({"kept": [len(storages._storages._maps), len(staticfiles_storage.__dict__["_fp_made"]), len(default_storage.__dict__["_fp_made"])],',
      '  "last": made["/p999/"], "again": urls("/p3/")}))',
    ].join('\n');
    const out = JSON.parse(execFileSync(PYTHON, ['-I', '-c', script], { encoding: 'utf8' })) as { kept: number[]; last: string[]; again: string[] };
    // Before: [1000, 1000, 1000].
    assert.deepEqual(out.kept, [16, 16, 16]);
    assert.deepEqual(out.last, ['/p999/static/', '/p999/static/', '/p999/media/']);
    assert.deepEqual(out.again, ['/p3/static/', '/p3/static/', '/p3/media/'], 'a prefix whose storage went has one made again with its own prefix');
  });
});
