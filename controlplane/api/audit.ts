/** /audit (docs/api.md, "Audit log"): every change, newest first; owners read their workspace's, the root token any. */
import { PlatformError } from '../../protocol/index.js';
import { auditList } from './answers.js';
import { json } from './http.js';
import { auditView } from './present.js';
import { operation } from './router.js';
import { auditQuery } from './tenancy-schemas.js';

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
    // created again (another tenant) does not show the first one's log (red team 5). The root token
    // reads the name's whole history.
    const born = call.scope.isRoot ? undefined : call.ctx.workspaces.get(call.scope.workspace)?.createdAt;
    const since = born === undefined ? query.since : Math.max(born, query.since ?? 0);
    const page = await call.ctx.store.audit.list({ ...query, ...(since !== undefined ? { since } : {}), ...(scope === 'all' ? {} : { workspace: call.scope.workspace }) });
    return json(200, { items: page.items.map((e) => auditView(e, scope !== 'all')), nextCursor: page.nextCursor });
  },
);
