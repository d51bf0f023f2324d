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
