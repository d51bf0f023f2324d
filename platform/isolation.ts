/**
 * How the platform describes its sandbox to an operator (platform/main.ts, the CLI's `up`): one
 * line, and the unsafe mode impossible to miss. Kept apart from start.ts so the CLI can use it
 * without loading the server.
 */
import type { Isolation } from '../poolmgr/index.js';

export function describeIsolation(iso: Isolation): string {
  if (iso.mode === 'off') return 'OFF (--unsafe-no-sandbox): functions are NOT isolated from the platform or each other';
  if (iso.mode === 'pod') return 'one Kubernetes Pod per instance (non-root, read-only root filesystem, seccomp RuntimeDefault)';
  const parts = [iso.mode === 'root' ? `namespaces, one uid per function (${iso.uidRange?.join('-') ?? '?'})` : 'user namespaces'];
  parts.push(iso.cgroups !== null ? `cgroups ${iso.cgroups}` : 'rlimits');
  if (iso.seccomp) parts.push('seccomp');
  if (iso.bindGuard === true) parts.push('no port binds');
  return parts.join(', ');
}
