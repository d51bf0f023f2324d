/** The one-line description of the sandbox an operator sees at start (platform/isolation.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeIsolation } from '../../platform/isolation.js';
import type { Isolation } from '../../poolmgr/index.js';

const base: Omit<Isolation, 'mode'> = { cgroups: null, seccomp: false, uidRange: null, warnings: [] };

describe('describeIsolation', () => {
  it('names each layer of a root sandbox, the bind guard last', () => {
    assert.equal(
      describeIsolation({ ...base, mode: 'root', cgroups: 'v1', seccomp: true, uidRange: [600000, 699999], bindGuard: true }),
      'namespaces, one uid per function (600000-699999), cgroups v1, seccomp, no port binds',
    );
    assert.equal(describeIsolation({ ...base, mode: 'root', cgroups: 'v2', seccomp: true, uidRange: [1, 2], bindGuard: false }), 'namespaces, one uid per function (1-2), cgroups v2, seccomp');
  });
  it('says rlimits without cgroups, and user namespaces when not root', () => {
    assert.equal(describeIsolation({ ...base, mode: 'userns' }), 'user namespaces, rlimits');
  });
  it('cannot be missed when off, and names the Pod for Kubernetes', () => {
    assert.match(describeIsolation({ ...base, mode: 'off' }), /^OFF .*NOT isolated/);
    assert.match(describeIsolation({ ...base, mode: 'pod' }), /Kubernetes Pod/);
  });
});
