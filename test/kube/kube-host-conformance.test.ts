/**
 * The Kubernetes host against the RuntimeHost conformance suite, on a real API server with the
 * test kubelet (kube-harness.ts). A Pod's container is its box: ending it ends every process in
 * it; the host does not sandbox inside the Pod (docs/adr/0012-kubernetes-host.md).
 */
import { after } from 'node:test';
import { kubeTierUnavailable } from '../helpers/kube-cluster.js';
import { runtimeHostTests } from '../conformance/runtime-host-suite.js';
import { startWorld, type KubeWorld } from './kube-harness.js';

const skip = kubeTierUnavailable() ?? false;
let world: KubeWorld | null = null;
after(async () => {
  await world?.close();
});

runtimeHostTests('kubernetes host (a runtime per Pod)', async () => {
  world = await startWorld();
  const host = world.host({ deleteWarmOnClose: true });
  await host.start();
  return { host, sandboxed: false, cgroups: false, wholeBox: true, checksCodeRoots: true };
}, { skip });
