/**
 * matplotlib's font list made once per dependency site (ADR 0108; docs/dependencies.md, "Caches
 * made at build"), with a stand-in `matplotlib` wheel made here (no network): its font manager
 * writes a list into matplotlib's cache folder unless one is there, as the real one does. The
 * list made in the font box at build reaches every cold start of a function using the site, so the
 * import finds it instead of making it again. A hostile stand-in shows what that box allows: the
 * site stays read-only and as the lock says, its folder is empty, and a list that is a link or not
 * matplotlib's is not taken.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeWheel } from '../helpers/wheels.js';
import { createFunction, deploy, depsSettled, fnName, py, upload, usePlatform } from './platform-harness.js';

const CACHEDIR = py(
  'import os',
  'def get_cachedir():',
  '    return os.environ.get("MPLCONFIGDIR") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "matplotlib")',
);
const wheels = mkdtempSync(join(tmpdir(), 'fp-wheels-'));
after(() => rmSync(wheels, { recursive: true, force: true }));
writeWheel(wheels, {
  name: 'matplotlib', version: '1.0', modules: {
    'matplotlib/__init__.py': CACHEDIR,
    'matplotlib/font_manager.py': py(
      'import json, os',
      'from matplotlib import get_cachedir',
      'PATH = os.path.join(get_cachedir(), "fontlist-v9.9.json")',
      'BUILT = not os.path.exists(PATH)',
      'if BUILT:',
      '    os.makedirs(os.path.dirname(PATH), exist_ok=True)',
      '    with open(PATH, "w") as f:',
      '        json.dump({"_version": "9.9", "ttflist": [{"fname": "fonts/ttf/Fake.ttf"}], "afmlist": [], "madeIn": os.getcwd()}, f)',
      'with open(PATH) as f:',
      '    LIST = json.load(f)',
    ),
  },
});
writeWheel(wheels, {
  name: 'matplotlib', version: '2.0', modules: {
    'matplotlib/__init__.py': CACHEDIR,
    'matplotlib/font_manager.py': py(
      'import json, os',
      'from matplotlib import get_cachedir',
      'def attempt(fn):',
      '    try:',
      '        fn()',
      '        return "done"',
      '    except OSError as e:',
      '        return e.errno',
      'here = get_cachedir()',
      'if os.getcwd() == "/run/fp-build":  # in the font box',
      '    os.makedirs(here, exist_ok=True)',
      '    seen = {"planted": attempt(lambda: open("/deps/planted.py", "w").close()),',
      '            "changed": attempt(lambda: open("/deps/matplotlib/__init__.py", "a").close()),',
      '            "build": sorted(os.listdir("/run/fp-build"))}',
      '    os.symlink("/etc/passwd", os.path.join(here, "fontlist-v0.json"))  # first by name: never followed',
      '    with open(os.path.join(here, "fontlist-v1.json"), "w") as f:',
      '        f.write("not a font list")',
      '    with open(os.path.join(here, "fontlist-v2.json"), "w") as f:',
      '        json.dump({"_version": "2", "ttflist": [{"fname": "a.ttf"}], "afmlist": [], "seen": seen}, f)',
      'LIST = json.load(open(os.path.join(here, "fontlist-v2.json"))) if os.path.exists(os.path.join(here, "fontlist-v2.json")) else None',
    ),
  },
});

const h = usePlatform({ poolSize: 1, depsIndexUrl: 'none', depsFindLinks: wheels, depsKeepMs: 0 });

const USES_FONTS = py(
  'import os',
  'def handler(event, context):',
  '    import matplotlib.font_manager as fm',
  '    here = fm.get_cachedir()',
  '    return {"built": getattr(fm, "BUILT", None), "list": getattr(fm, "LIST", None), "cachedir": here,',
  '            "files": sorted(os.listdir(here)) if os.path.isdir(here) else []}',
);

/** Creates `name` with `requirements`, waits for its build, deploys it; returns the build. */
async function built(name: string, requirements: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  await createFunction(h.api, name);
  await upload(h.api, name, { 'requirements.txt': requirements, 'main.py': USES_FONTS });
  const deps = await depsSettled(h.api, name, 1);
  assert.equal(deps.state, 'ready', JSON.stringify(deps));
  await deploy(h.api, name);
  return deps;
}

async function call(name: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  const res = await fetch(`${h.url}/fn/${name}/`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

describe('matplotlib\'s font list', () => {
  it('is made once when the site is built, and a cold start finds it instead of making it', async () => {
    const name = fnName('fonts');
    const deps = await built(name, 'matplotlib==1.0\n');
    assert.match(deps.log, /font list made once for this site \(1 fonts\)/);
    const site = join(h.stateDir, 'deps', deps.lock, 'site');
    assert.deepEqual(readdirSync(join(site, '.fp-cache', 'matplotlib')), ['fontlist-v9.9.json']);
    const out = await call(name);
    assert.equal(out.cachedir, '/tmp/.cache/matplotlib');
    assert.equal(out.built, false, `the cold start made the list again: ${JSON.stringify(out)}`);
    assert.equal(out.list.madeIn, '/run/fp-build', 'the list is the one the font box made');
  });

  it('is made in a box where the site is read-only, and only a list of the right shape is taken', async () => {
    const name = fnName('fonts-hostile');
    const deps = await built(name, 'matplotlib==2.0\n');
    const site = join(h.stateDir, 'deps', deps.lock, 'site');
    assert.equal(existsSync(join(site, 'planted.py')), false);
    // The link (first by name) and the text that is no list were passed over; the list of the right shape was taken.
    assert.deepEqual(readdirSync(join(site, '.fp-cache', 'matplotlib')), ['fontlist-v2.json']);
    const out = await call(name);
    const seen = out.list.seen as { planted: unknown; changed: unknown; build: string[] };
    assert.equal(seen.planted, 30, 'EROFS: the site is read-only in the font box');
    assert.equal(seen.changed, 30);
    assert.deepEqual(seen.build, ['mpl'], 'the font box\'s folder holds only what it made (no declaration, lock or proxy socket)');
    assert.deepEqual(out.files, ['fontlist-v2.json']);
  });
});
