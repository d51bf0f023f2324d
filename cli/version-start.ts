/** How `versions` and `functions show` tell a version's last start check (docs/adr/0252-a-versions-start-result-is-kept.md). */
import type { ApiVersionSummary } from './client.js';

/** STARTED: `ok`, `failed` and the refusal's code, `-` never checked (or a platform without the field). */
export function startedCell(v: ApiVersionSummary): string {
  if (v.startCheck === undefined || v.startCheck === null) return '-';
  return v.startCheck.ok ? 'ok' : `failed ${v.startCheck.code ?? ''}`.trimEnd();
}
