/**
 * Edits of the Code tab that could not be saved because the session ended (the token expired or
 * was revoked mid-edit: 401 signs the tab out, docs/console.md "Sign in"): kept in this tab's
 * storage (auth.ts `keepInTab`), by workspace and function, until the Code tab of that function opens again after
 * signing in, which lays them over what it loads and saves them (developer-experience round 9).
 * The user's own code only, in the tab that holds the token anyway; gone when the tab closes.
 */
import { keepInTab, takeFromTab } from './auth.js';

export interface Unsaved {
  files: { path: string; content: string }[];
  removed: string[];
}

export function keepUnsaved(workspace: string, fn: string, edits: Unsaved): void {
  keepInTab(`unsaved:${workspace}/${fn}`, JSON.stringify(edits));
}

/** The kept edits of `fn`, removed from storage (taken once). */
export function takeUnsaved(workspace: string, fn: string): Unsaved | null {
  const raw = takeFromTab(`unsaved:${workspace}/${fn}`);
  if (raw === null) return null;
  try {
    const p = JSON.parse(raw) as Partial<Unsaved>;
    const files = Array.isArray(p.files) ? p.files.filter((f) => typeof f?.path === 'string' && typeof f.content === 'string') : [];
    const removed = Array.isArray(p.removed) ? p.removed.filter((r): r is string => typeof r === 'string') : [];
    return files.length + removed.length > 0 ? { files, removed } : null;
  } catch {
    return null;
  }
}
