/**
 * What both store adapters share about workspaces and their quotas: the QUOTA_EXCEEDED error (it
 * names the quota, its limit and the use), how a run's logs are measured against `logBytes`, and
 * the audit log's cursor. One definition, so the adapters refuse and count alike.
 */
import { workspaceOfKey, type LogLine } from '../../protocol/index.js';
import { StoreError } from './errors.js';
import type { NewAuditEntry, WorkspaceQuotas } from './types.js';

/** How each quota is raised (`workspaces set <ws> --<flag>`), and what frees some of it. */
const RAISE: Record<keyof WorkspaceQuotas, { flag: string; free: string }> = {
  functions: { flag: '--functions N', free: 'delete a function (`fastapi-platform functions delete <name>`)' },
  instances: { flag: '--instances N', free: 'wait for idle instances to stop' },
  invocationsPerMinute: { flag: '--invocations-per-minute N', free: 'wait for the next minute' },
  codeBytes: { flag: '--code-bytes SIZE', free: 'delete versions you no longer need (`fastapi-platform versions delete <name> <version>`; each deploy keeps the last FP_KEEP_VERSIONS, default 20)' },
  logBytes: { flag: '--log-bytes SIZE', free: 'wait for retention to prune older runs' },
};

/**
 * QUOTA_EXCEEDED naming the quota, its limit and what is used (a store error; the API answers it),
 * and what to do: a newcomer at a quota of 2 functions got only the numbers (docs/adr/0048-newcomer-round-3.md).
 */
export function quotaExceeded(quota: keyof WorkspaceQuotas, workspace: string, limit: number, used: number, adding?: number): StoreError {
  const fix = RAISE[quota];
  // What was refused, beside what is used: a first upload past a small codeBytes quota read "is at its
  // codeBytes quota (0 of 1024)" (new-user round 5).
  const what = adding === undefined ? `is at its ${quota} quota (${used} of ${limit})` : `has no room for ${adding} more bytes under its ${quota} quota (${used} of ${limit} used)`;
  return new StoreError('QUOTA_EXCEEDED', `workspace "${workspace}" ${what}: ${fix.free}, or an admin raises it (\`fastapi-platform workspaces set ${workspace} ${fix.flag}\`)`, { quota, workspace, limit, used, ...(adding !== undefined ? { adding } : {}) });
}

/** The bytes a run's log lines count against `logBytes`: their stored JSON, 0 when there are none. */
export function logBytesOf(lines: readonly LogLine[] | undefined): number {
  return lines === undefined || lines.length === 0 ? 0 : Buffer.byteLength(JSON.stringify(lines), 'utf8');
}

/** The workspace a run record belongs to (its function key's). */
export function runWorkspace(run: { function: string }): string {
  return workspaceOfKey(run.function);
}

/** Quotas as stored (JSON or a document): every key present, a number or null. */
export function normalQuotas(raw: Partial<Record<keyof WorkspaceQuotas, unknown>> | null | undefined): WorkspaceQuotas {
  const pick = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);
  return {
    functions: pick(raw?.functions),
    instances: pick(raw?.instances),
    invocationsPerMinute: pick(raw?.invocationsPerMinute),
    codeBytes: pick(raw?.codeBytes),
    logBytes: pick(raw?.logBytes),
  };
}

/**
 * The audit cursor, opaque: a page's last entry's `workspaceSeq` when the list is one workspace's
 * (`w…`), its global `seq` when it is every entry (`a…`). A workspace's cursor never carries the
 * global number (red team 6: its gaps counted other workspaces' changes).
 */
export function encodeAuditCursor(seq: number, scoped: boolean): string {
  return Buffer.from(`${scoped ? 'w' : 'a'}${seq}`, 'utf8').toString('base64url');
}

export function decodeAuditCursor(text: string, scoped: boolean): number {
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  const seq = (scoped ? /^w([0-9]{1,15})$/ : /^a([0-9]{1,15})$/).exec(decoded);
  if (seq === null) throw new StoreError('RUN_CURSOR_INVALID', 'the cursor is not one this store returned for this list', { cursor: text });
  return Number(seq[1]);
}

/**
 * The audit entries a trim keeps whatever their age: a workspace's creations (one per creation of
 * the name, by the admin token). A workspace token's numbers start after its workspace's own
 * (controlplane/api/audit.ts), which must not be trimmed away (ADR 0103).
 */
export const KEPT_AUDIT_ACTION = 'workspace.create';

/** Entries past `keep` a workspace may hold before its oldest are deleted (a trim deletes this many or more at once). */
export function auditTrimSlack(keep: number): number {
  return Math.max(1, Math.min(1000, Math.floor(keep / 10)));
}

/**
 * The `audit.trim` entry written when a workspace's oldest entries are deleted for its bound. Its
 * detail names the bound only: a count of what went would tell a recycled name's new owner how
 * many entries the first one had (red team round 7).
 */
export function auditTrimEntry(workspace: string | null, at: number, keep: number): NewAuditEntry {
  return { at, actor: { tokenId: 'platform', label: 'platform', role: 'root' }, address: '', workspace, action: 'audit.trim', target: workspace ?? '', detail: { keep } };
}

/**
 * A function's deploy records kept, its newest: a change a minute made at the API's rate
 * (FP_API_WRITE_RATE) is a record each (pause and resume in a loop), and a bare rollback reads
 * the newest 1000 only (docs/adr/0103-api-writes-bounded.md).
 */
export const DEPLOY_RECORDS_KEPT = 1000;

/**
 * Revoked tokens kept per kind and scope (a workspace's, a function's invoke tokens, the admin
 * tokens), the newest by creation: `GET /tokens?includeRevoked=true` lists at most 1000, and a
 * revoked token verifies nothing, so an older row served nobody (ADR 0103).
 */
export const REVOKED_TOKENS_KEPT = 1000;
