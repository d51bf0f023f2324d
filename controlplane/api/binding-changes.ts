/** What a deploy or rollback does to the function's data binding, for its audit entry (docs/adr/0011-tenants.md, "Audit log"). */
import { bindingTarget } from '../../protocol/index.js';
import { bindingOfManifest } from '../registry/store-registry.js';

/**
 * The data binding a version change makes (docs/data-binding.md): `data.bind` (a database, new or
 * another), `data.unbind`, or null (unchanged). Databases are named in the function's workspace.
 */
export function bindingChange(workspace: string, before: unknown, after: unknown): { action: 'data.bind' | 'data.unbind'; detail: Record<string, unknown> } | null {
  const from = bindingOfManifest(before);
  const to = bindingOfManifest(after);
  const name = (database: string): string => bindingTarget(database, workspace).database;
  if (from !== null && to !== null && name(from.database) === name(to.database) && from.create === to.create) return null;
  if (from === null && to === null) return null;
  if (to === null) return { action: 'data.unbind', detail: { database: name(from!.database) } };
  return { action: 'data.bind', detail: { database: name(to.database), create: to.create, ...(from !== null ? { previous: name(from.database) } : {}) } };
}
