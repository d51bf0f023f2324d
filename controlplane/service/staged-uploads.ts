/**
 * Contents a workspace uploaded with `PUT /blobs` that no version of it uses yet, per platform
 * process (docs/adr/0011-tenants.md, `codeBytes`). A workspace's `codeBytes` counts its stored
 * versions; without this, content uploaded and never used by a version counted nowhere, and blobs
 * are kept an hour at least (docs/adr/0099-collecting-contents.md), so a `deployer` token could fill the state directory's disk past its
 * workspace's quota, one `maxFileBytes` upload after another (red team, December 2026). Held in
 * memory: a restart (or another process) starts from none; the quota then bounds each process's
 * lifetime's uploads, not the whole install's. Only workspaces with a `codeBytes` quota are kept.
 */

/**
 * Contents a workspace may have staged at once, however small (each is a file of the state
 * directory): as many as one `blobs/missing` question names.
 */
export const MAX_STAGED_CONTENTS = 10_000;

export class StagedUploads {
  private readonly byWorkspace = new Map<string, Map<string, number>>();

  /** Bytes charged to `workspace` for contents uploaded and not used by a version yet. */
  bytes(workspace: string): number {
    let sum = 0;
    for (const charge of this.byWorkspace.get(workspace)?.values() ?? []) sum += charge;
    return sum;
  }

  count(workspace: string): number {
    return this.byWorkspace.get(workspace)?.size ?? 0;
  }

  has(workspace: string, sha256: string): boolean {
    return this.byWorkspace.get(workspace)?.has(sha256) ?? false;
  }

  /** Charges `size` bytes for `sha256` (call in the same turn as the check, so concurrent uploads cannot both pass it). */
  add(workspace: string, sha256: string, size: number): void {
    let staged = this.byWorkspace.get(workspace);
    if (staged === undefined) this.byWorkspace.set(workspace, (staged = new Map()));
    staged.set(sha256, size);
  }

  /** Every content staged here, of any workspace: the collector keeps them (version-retention.ts). */
  all(): Set<string> {
    const all = new Set<string>();
    for (const staged of this.byWorkspace.values()) for (const sha of staged.keys()) all.add(sha);
    return all;
  }

  /** Those contents are no longer charged here: a version uses them (its size counts), or the upload failed. */
  remove(workspace: string, sha256s: Iterable<string>): void {
    const staged = this.byWorkspace.get(workspace);
    if (staged === undefined) return;
    for (const sha of sha256s) staged.delete(sha);
    if (staged.size === 0) this.byWorkspace.delete(workspace);
  }
}
