/**
 * Every action the audit log records (docs/api.md, "Audit log"). The CLI refuses an `--action`
 * outside this list instead of answering "No audit entries" for a typo; test/unit/audit-actions
 * checks that the control plane writes no other action and that docs/api.md names each one.
 */
export const AUDIT_ACTIONS = [
  'function.create', 'function.update', 'function.delete', 'version.upload', 'version.delete',
  'deploy', 'rollback', 'pause', 'resume',
  'secret.set', 'secret.unset', 'deps.build',
  'hook-secret.rotate', 'invoke-token.rotate',
  'token.create', 'token.revoke', 'admin-token.rotate',
  'workspace.create', 'workspace.update', 'workspace.delete',
  'data.bind', 'data.unbind', 'data-credentials.rotate', 'data.drop',
  'test-case.save', 'test-case.delete',
  'audit.trim',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One entry of `GET /audit` as the API returns it: the CLI's `audit` and the console's Audit page read it. */
export interface AuditEntry {
  seq: number;
  at: number;
  actor: { tokenId: string; label: string; role: string };
  address: string;
  workspace: string | null;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

/**
 * An entry's detail as `key=value` pairs, as the CLI's `audit` and the console's Audit page show it;
 * a time (`expiresAt`, any `…At` in ms) as ISO 8601 UTC, as their WHEN column (it printed 1804220376480).
 */
export function auditDetailText(detail: Record<string, unknown>): string {
  const value = (k: string, v: unknown): string => typeof v === 'string' ? v
    : typeof v === 'number' && k.endsWith('At') && Number.isFinite(v) && v > 0 ? `${new Date(v).toISOString().slice(0, 19)}Z` : JSON.stringify(v);
  return Object.entries(detail).map(([k, v]) => `${k}=${value(k, v)}`).join(' ');
}

/** An entry's time as the CLI's WHEN (UTC) column and the console's When (UTC) show it: `2026-12-07 06:40:00`. */
export function auditWhenText(at: number): string {
  return new Date(at).toISOString().slice(0, 19).replace('T', ' ');
}
