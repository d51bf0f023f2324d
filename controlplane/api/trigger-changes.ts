/**
 * What a deploy or rollback changes of a function's triggers, for its audit entry
 * (docs/adr/0011-tenants.md, "Audit log"): triggers live in a version's manifest, so they change
 * when another version goes live. Each trigger is described by its type, id and what it fires on
 * (a cron schedule and time zone; a webhook's signature style and mode); never a payload.
 */

/** One line per trigger of a stored manifest (any JSON: versions from before triggers have none). */
export function triggerLines(manifest: unknown): string[] {
  const triggers = (manifest as { triggers?: unknown } | null)?.triggers;
  if (!Array.isArray(triggers)) return [];
  return triggers.map((t: Record<string, unknown>) => {
    const id = `${String(t.type)}:${String(t.id)}`;
    if (t.type === 'cron') return `${id} ${String(t.schedule)}${typeof t.timezone === 'string' ? ` ${t.timezone}` : ''}`;
    if (t.type === 'webhook') return `${id} ${String(t.style ?? 'github')}${t.sync === true ? ' sync' : ''}`;
    return id;
  });
}

/** Triggers added and removed going from one manifest to another (a changed schedule is both); null when none changed. */
export function triggerChanges(from: unknown, to: unknown): { added: string[]; removed: string[] } | null {
  const before = new Set(triggerLines(from));
  const after = new Set(triggerLines(to));
  const added = [...after].filter((t) => !before.has(t));
  const removed = [...before].filter((t) => !after.has(t));
  return added.length === 0 && removed.length === 0 ? null : { added, removed };
}
