/**
 * The runtime preset a version starts on (poolmgr/preset.ts, docs/adr/0019-zygotes.md "Preset
 * choice"), decided from its files on its first cold start: the entry module's imports (its first
 * 64 KiB), a package's `__init__.py`, requirements.txt; anything unreadable counts as absent.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PresetChoices, presetOf } from '../../poolmgr/preset.js';

describe('presetOf', () => {
  const made: string[] = [];
  after(async () => { await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))); });

  async function version(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'fp-preset-'));
    made.push(dir);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    return dir;
  }

  it('is default for a plain handler without requirements.txt', async () => {
    const dir = await version({ 'main.py': 'def handler(event, context):\n    return {"ok": True}\n' });
    assert.equal(presetOf({ dir, entrypoint: 'main:handler' }), 'default');
  });

  it('is fastapi when the entry module imports fastapi or starlette', async () => {
    for (const line of ['from fastapi import FastAPI', 'import starlette', '  from starlette.routing import Route']) {
      const dir = await version({ 'app.py': `"""doc"""\n${line}\napp = None\n` });
      assert.equal(presetOf({ dir, entrypoint: 'app:app' }), 'fastapi', line);
    }
  });

  it('reads a package entry module from its __init__.py, a dotted one from its file', async () => {
    const pkg = await version({ 'svc/__init__.py': 'from fastapi import FastAPI\napp = FastAPI()\n' });
    assert.equal(presetOf({ dir: pkg, entrypoint: 'svc:app' }), 'fastapi');
    const dotted = await version({ 'svc/api.py': 'import fastapi\n' });
    assert.equal(presetOf({ dir: dotted, entrypoint: 'svc.api:app' }), 'fastapi');
    // A src layout named as the project runs it (svc.api:app for src/svc/api.py; apps round 12).
    const src = await version({ 'src/svc/api.py': 'import fastapi\n' });
    assert.equal(presetOf({ dir: src, entrypoint: 'svc.api:app' }), 'fastapi');
  });

  it('is fastapi when requirements.txt names fastapi, whatever the entry module imports', async () => {
    const dir = await version({ 'main.py': 'def handler(e, c):\n    return 1\n', 'requirements.txt': 'requests==2.32.3\nFastAPI>=0.110\n' });
    assert.equal(presetOf({ dir, entrypoint: 'main:handler' }), 'fastapi');
    const other = await version({ 'main.py': 'def handler(e, c):\n    return 1\n', 'requirements.txt': 'fastapi-utils-not\n# fastapi\n' });
    assert.equal(presetOf({ dir: other, entrypoint: 'main:handler' }), 'fastapi', 'a name starting with fastapi counts (as before)');
  });

  it('looks at the first 64 KiB of the entry module only', async () => {
    const dir = await version({ 'main.py': `${'#\n'.repeat(40 * 1024)}import fastapi\n` });
    assert.equal(presetOf({ dir, entrypoint: 'main:app' }), 'default');
    const near = await version({ 'main.py': `${'#\n'.repeat(1024)}import fastapi\n` });
    assert.equal(presetOf({ dir: near, entrypoint: 'main:app' }), 'fastapi');
  });

  it('counts a missing or unreadable entry module as absent (a directory named main.py, no module at all)', async () => {
    const dir = await version({ 'main.py/keep': '', 'requirements.txt': 'fastapi\n' });
    assert.equal(presetOf({ dir, entrypoint: 'main:app' }), 'fastapi');
    const empty = await version({});
    assert.equal(presetOf({ dir: empty, entrypoint: 'main:handler' }), 'default');
  });

  it('is fastapi for a version with a data binding, whatever its files: that zygote has imported context.db\'s pymongo (ADR 0163)', async () => {
    const dir = await version({ 'main.py': 'def handler(event, context):\n    return context.db.orders.count_documents({})\n' });
    assert.equal(presetOf({ dir, entrypoint: 'main:handler' }), 'default');
    assert.equal(presetOf({ dir, entrypoint: 'main:handler', dataDir: '/run/data/fn' }), 'fastapi', 'a FunctionSpec with its binding\'s socket directory');
    assert.equal(presetOf({ dir, entrypoint: 'main:handler', bound: true }), 'fastapi', 'a deploy of a version whose manifest binds a database');
    const choices = new PresetChoices();
    assert.equal(choices.decide({ dir, entrypoint: 'main:handler', bound: true }), 'fastapi');
    assert.equal(choices.of({ dir, entrypoint: 'main:handler' }), 'fastapi', 'decided at the deploy, kept for its cold starts');
  });

  it('PresetChoices: a version decided at its deploy keeps that preset at its cold starts, its files not read again', async () => {
    const dir = await version({ 'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n' });
    const choices = new PresetChoices();
    const fn = { dir, entrypoint: 'main:app' };
    assert.equal(choices.decide(fn), 'fastapi');
    // What the cold start would read now says default: the choice made at the deploy stands.
    await writeFile(join(dir, 'main.py'), 'def app(event, context):\n    return 1\n');
    assert.equal(choices.of(fn), 'fastapi');
    assert.equal(choices.of({ dir, entrypoint: 'other:app' }), 'default', 'another entrypoint: decided from the files');
    // Deployed again (a directory written again is ensured again): decided again.
    assert.equal(choices.decide(fn), 'default');
    assert.equal(choices.of(fn), 'default');
  });

  it('PresetChoices keeps at most its bound, dropping the oldest decided first', async () => {
    const fastapi = await version({ 'main.py': 'import fastapi\n' });
    const choices = new PresetChoices(2);
    const a = { dir: fastapi, entrypoint: 'main:a' };
    const b = { dir: fastapi, entrypoint: 'main:b' };
    const c = { dir: fastapi, entrypoint: 'main:c' };
    choices.decide(a);
    choices.decide(b);
    choices.decide(a); // decided again: now the newest
    choices.decide(c);
    assert.equal(choices.size, 2);
    await writeFile(join(fastapi, 'main.py'), 'X = 1\n');
    assert.equal(choices.of(a), 'fastapi');
    assert.equal(choices.of(c), 'fastapi');
    assert.equal(choices.of(b), 'default', 'the oldest was dropped: decided from the files');
  });
});
