/** /audit (docs/api.md, "Audit log"): every change, newest first; owners read their workspace's, the root token any. */
import { PlatformError } from '../../protocol/index.js';
import type { Call } from './router.js';
import { decodeAuditCursor, encodeAuditCursor, KEPT_AUDIT_ACTION } from '../store/index.js';
import { auditList } from './answers.js';
import { json } from './http.js';
import { auditView } from './present.js';
import { operation } from './router.js';
import { auditQuery } from './tenancy-schemas.js';

/**
 * How many entries the name had before a workspace's creation, per workspace name (kept for the
 * creation it was read for). A name deleted and created again for another tenant goes on from the
 * first tenant's last `workspaceSeq` in the store; a workspace token sees its entries numbered
 * from 1 (less this), so the new owner does not learn how many entries the first one had.
 */
const bases = new Map<string, { born: number; base: number }>();

async function baseOf(ctx: Call['ctx'], workspace: string, born: number): Promise<number> {
  const known = bases.get(workspace);
  if (known?.born === born) return known.base;
  // The workspace's own `workspace.create` entry, which no trim deletes (ADR 0103): its number less
  // one. The entries before it may be gone (trimmed by this workspace's own changes, or past the
  // retention), and counting from none would show the first tenant's count (red team round 9).
  const created = await ctx.store.audit.list({ workspace, action: KEPT_AUDIT_ACTION, since: born, limit: 1 });
  const before = created.items.length > 0 ? null : await ctx.store.audit.list({ workspace, until: born, limit: 1 });
  const base = created.items[0] !== undefined ? created.items[0].workspaceSeq - 1 : (before?.items[0]?.workspaceSeq ?? 0);
  bases.set(workspace, { born, base });
  return base;
}

export const list = operation(
  {
    id: 'listAudit', tag: 'audit', role: 'owner', summary: "The workspace's audit log, newest first, filtered and paged (`nextCursor`)",
    query: auditQuery,
    answers: { 200: { description: 'A page of the audit log', schema: auditList } },
    errors: ['RUN_CURSOR_INVALID', 'ROLE_FORBIDDEN'],
  },
  async (call, input) => {
    const { scope, ...query } = input.query();
    if (scope === 'all' && !call.scope.isRoot) throw new PlatformError('ROLE_FORBIDDEN', 'scope=all needs the admin token', { field: 'query.scope', required: 'root' });
    // A workspace token reads its workspace's entries from its creation on: a name deleted and
    // created again (another tenant) does not show the first one's log (red team 5), nor how many
    // entries it had (their numbers start again at 1). The root token reads the name's whole
    // history, numbered through.
    const born = call.scope.isRoot ? undefined : call.ctx.workspaces.get(call.scope.workspace)?.createdAt;
    const since = born === undefined ? query.since : Math.max(born, query.since ?? 0);
    const base = born === undefined ? 0 : await baseOf(call.ctx, call.scope.workspace, born);
    const cursor = query.cursor === undefined || base === 0 ? query.cursor : encodeAuditCursor(decodeAuditCursor(query.cursor, true) + base, true);
    const page = await call.ctx.store.audit.list({ ...query, ...(cursor !== undefined ? { cursor } : {}), ...(since !== undefined ? { since } : {}), ...(scope === 'all' ? {} : { workspace: call.scope.workspace }) });
    const items = page.items.map((e) => auditView({ ...e, workspaceSeq: e.workspaceSeq - base }, scope !== 'all'));
    const nextCursor = page.nextCursor === null || base === 0 ? page.nextCursor : encodeAuditCursor(decodeAuditCursor(page.nextCursor, true) - base, true);
    return json(200, { items, nextCursor });
  },
);
