/**
 * FP_ADMIN_TOKEN_FILE (ADR 0135): the admin token a start issues (the first start of a store, or
 * `--rotate-admin-token`) is written to this file, mode 0600, instead of into the banner. The banner
 * goes to the log, and a log is kept and shipped: under systemd the journal (readable by the `adm`
 * group) held the token for as long as it kept the boot, and the unit's JSON lines were made for a
 * log shipper (new-user round 5). Written whole to a temporary file beside it, then renamed, so a
 * reader never sees half a token and a rotation replaces the file.
 */
import { chmodSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

/** Writes the token to `file` (mode 0600, whole or not at all): its absolute path, and why not when it could not be written. */
export function writeAdminToken(token: string, file: string): { path: string; failed?: string } {
  const path = resolve(file);
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, `${token}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(temp, 0o600);
    renameSync(temp, path);
    return { path };
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // never written
    }
    return { path, failed: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}

/** The banner lines for a token written to `file`; or, when it cannot be written, lines that show it (it is never lost). */
export function adminTokenLines(token: string, file: string | undefined): string[] {
  if (file === undefined) return [`  admin token: ${token}`, '  (shown once: keep it; only a keyed digest is stored. Lost it? Restart with --rotate-admin-token.)'];
  const { path, failed } = writeAdminToken(token, file);
  if (failed !== undefined) {
    return [
      `  warning: the admin token could not be written to FP_ADMIN_TOKEN_FILE ${path} (${failed}): shown here instead`,
      `  admin token: ${token}`,
      '  (shown once: keep it; only a keyed digest is stored. Lost it? Restart with --rotate-admin-token.)',
    ];
  }
  return [`  admin token: written to ${path} (mode 0600, not shown here: a log is kept and shipped); give it to the CLI (\`fastapi-platform login <url>\` asks for it), then delete the file`];
}
