/**
 * Which top-level modules each distribution of a dependency site ships: said by the builder at
 * the end of its build (runtime/fp_deps/imports.py `site_modules`, read from the site's
 * top_level.txt or RECORD), kept beside the site as `modules.json` for the builds that share it,
 * and shown with each package (`deps.packages[].modules`). `deploy` checks the function's imports
 * against them; without them it guessed a module from a distribution's name, and warned about
 * a module a declared package's own dependency ships under another name.
 *
 * The builder runs the packages' code, so what it says is untrusted: only identifiers, at most
 * MAX_MODULES per package, only for packages of the lock. A lie can only hide or cause an import
 * warning about that function's own site.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackagePin } from './types.js';

export const MODULES_FILE = 'modules.json';
const MODULE = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
const MAX_MODULES = 64;

/** PEP 503's normalized distribution name (runtime/fp_deps/requirements.py `normalize`). */
export function normalizedName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** `packages` with the modules `said` names for each (normalized name → modules), checked; a package `said` leaves out keeps what it had. */
export function withModules(packages: readonly PackagePin[], said: unknown): PackagePin[] {
  if (said === null || typeof said !== 'object' || Array.isArray(said)) return [...packages];
  const byName = said as Record<string, unknown>;
  return packages.map((p) => {
    const key = normalizedName(p.name);
    const listed = Object.hasOwn(byName, key) ? byName[key] : undefined;
    if (!Array.isArray(listed)) return p;
    const modules = [...new Set(listed.filter((m): m is string => typeof m === 'string' && MODULE.test(m)))].sort().slice(0, MAX_MODULES);
    return { ...p, modules };
  });
}

/** The `modules.json` kept beside a site: what withModules reads back. */
export function modulesFile(packages: readonly PackagePin[]): string {
  return JSON.stringify(Object.fromEntries(packages.filter((p) => p.modules !== undefined).map((p) => [normalizedName(p.name), p.modules])));
}

/** The `modules.json` of the site published at `dir` (`<root>/<lock>`); null when it has none (a site built before 2026-12-06) or it cannot be read. */
export async function readModules(dir: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(dir, MODULES_FILE), 'utf8')) as unknown;
  } catch {
    return null;
  }
}
