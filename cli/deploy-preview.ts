/**
 * `deploy --dry-run`: what a deploy of the folder would change, read from the platform and
 * changing nothing there — the files since the active version, what would be uploaded, and the
 * plain env a deploy would remove (values set by `env set`/`env push` that platform.yaml lacks,
 * the one change a deploy makes that loses data), add, or set back to platform.yaml's value. Lambda's `sam deploy --no-execute-changeset` and
 * `terraform plan` are the habit it serves.
 */
import { diffFiles } from '../protocol/index.js';
import type { DeployPlan } from './deploy-flow.js';
import type { Preflight } from './preflight.js';
import type { ApiChanges } from './client.js';

export interface DeployPreview {
  function: string;
  /** The function does not exist yet: the deploy would create it. */
  created: boolean;
  activeVersion: number | null;
  /** Files since the active version (all added for a new function). */
  changes: ApiChanges;
  /** The same code and manifest as the active version: the deploy would make no version. */
  unchanged: boolean;
  /** Distinct contents the platform does not have yet, and their bytes. */
  upload: { files: number; bytes: number };
  /** Plain env names the function has that platform.yaml's env does not: the deploy removes them. */
  envRemoved: string[];
  /** Names platform.yaml's env sets that the function does not have yet: the deploy adds them. */
  envAdded: string[];
  /** Names whose live value is not platform.yaml's (an `env push` or `env set` since): the deploy sets them back. */
  envChanged: string[];
}

export function previewDeploy(checked: Preflight, plan: DeployPlan): DeployPreview {
  const manifest = checked.manifest!;
  const { existing, files, byHash, active, missing } = plan;
  const changes = active === null || !active.files ? diffFiles([], files) : diffFiles(active.files, files);
  const unchanged = active !== null && active.entrypoint === manifest.entrypoint
    && changes.added.length + changes.modified.length + changes.removed.length === 0
    && JSON.stringify(active.manifest) === JSON.stringify(checked.rawManifest);
  const toUpload = missing.flatMap((sha) => byHash.get(sha) ?? []);
  const live: Record<string, string> = existing?.function.env ?? {};
  const envRemoved = existing === null ? [] : Object.keys(live).filter((k) => !(k in manifest.env)).sort();
  // Values are compared, not shown: a value pushed since the last deploy is set back (helper round).
  const envAdded = existing === null ? [] : Object.keys(manifest.env).filter((k) => !(k in live)).sort();
  const envChanged = existing === null ? [] : Object.keys(manifest.env).filter((k) => k in live && live[k] !== manifest.env[k]).sort();
  return {
    function: manifest.name,
    created: existing === null,
    activeVersion: existing?.function.activeVersion ?? null,
    changes,
    unchanged,
    upload: { files: toUpload.length, bytes: toUpload.reduce((n, f) => n + f.size, 0) },
    envRemoved,
    envAdded,
    envChanged,
  };
}
