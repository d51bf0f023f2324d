/**
 * The platform image (deploy/docker/platform.Dockerfile) carries what scripts/setup.sh does to the
 * gateway's native pieces: the uWebSockets.js binary mended (scripts/patch-uws.mjs; without it the
 * image's parser ran requests hidden in chunk data, ADR 0100) and the peer addon built and copied
 * into the final stage (ADR 0093). No Docker here: the build stage's steps were replayed by hand
 * (npm ci, patch, tsc, build-peer) when this was written; this keeps them from going missing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const text = readFileSync(`${ROOT}deploy/docker/platform.Dockerfile`, 'utf8');
const stages = text.split(/^FROM /m).slice(1);
const runs = (stage: string): string[] => [...stage.matchAll(/^RUN ([\s\S]*?)(?<!\\)\n/gm)].map((m) => m[1]!);

describe('the platform image', () => {
  it('has a build stage and a final stage', () => {
    assert.equal(stages.length, 2);
    assert.match(stages[0]!, /AS build/);
  });

  it('mends the uWebSockets.js binary after installing it, with the script setup.sh runs', () => {
    const build = stages[0]!;
    const steps = runs(build);
    const install = steps.findIndex((s) => s.includes('npm ci'));
    const patch = steps.findIndex((s) => s.includes('node scripts/patch-uws.mjs'));
    assert.ok(install >= 0 && patch > install, steps.join('\n---\n'));
    assert.match(build, /COPY scripts\/patch-uws\.mjs/);
    assert.match(readFileSync(`${ROOT}scripts/setup.sh`, 'utf8'), /node scripts\/patch-uws\.mjs/);
  });

  it('builds the peer addon and ships it beside dist/', () => {
    assert.ok(runs(stages[0]!).some((s) => s.includes('bash scripts/build-peer.sh')));
    assert.match(stages[0]!, /g\+\+/);
    assert.match(stages[1]!, /^COPY --from=build \/src\/gateway\/native gateway\/native$/m);
    assert.match(stages[1]!, /^COPY --from=build \/src\/dist dist$/m);
  });
});
