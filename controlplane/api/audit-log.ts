/**
 * Writing the audit log (docs/adr/0011-tenants.md, "Audit log"): one entry per change, after the
 * change succeeded and before the API answers it, with who (token id, label, role), from where
 * (the client's address), the workspace, the action, its target and a detail without secret
 * values. A failed write does not undo the change (it is done); it is logged for the operator.
 */
import { auditKeep } from '../service/write-bounds.js';
import type { Call } from './router.js';

export async function audit(call: Call, action: string, target: string, detail: Record<string, unknown> = {}, workspace: string | null = call.scope.workspace): Promise<void> {
  try {
    await call.ctx.store.audit.append({ at: Date.now(), actor: call.scope.actor(), address: call.scope.address, workspace, action, target, detail }, auditKeep(call.ctx));
  } catch (err) {
    call.ctx.log(`controlplane: could not write the audit entry ${action} ${target}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
