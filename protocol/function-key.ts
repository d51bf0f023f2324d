/**
 * The function key (docs/adr/0011-tenants.md): how a function is known everywhere below the API —
 * store, registry, pool, metrics, Redis keys, run records, code directories. `<name>` in the
 * workspace `default`, `<name>.<workspace>` in any other. Function and workspace names are DNS
 * labels (no dot), so a key is unambiguous and every name from before workspaces keeps its
 * meaning. This module is the one place that builds and reads keys; nothing else splits on `.`.
 *
 *   functionKey('shop', 'default')  // 'shop'
 *   functionKey('shop', 'acme')     // 'shop.acme'
 *   parseFunctionKey('shop.acme')   // { name: 'shop', workspace: 'acme' }
 *   parseFunctionKey('shop.default') // null: `default` is never written out (one key per function)
 */
import { FUNCTION_NAME } from './manifest.js';

/** The workspace of a fresh install, and of every function from before workspaces. Cannot be deleted. */
export const DEFAULT_WORKSPACE = 'default';

/** A workspace name: a DNS label of 1–30 characters (lower-case letters, digits, inner hyphens). */
export const WORKSPACE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$/;

/** Longest key: a 63-character name, a dot, a 30-character workspace. */
export const MAX_FUNCTION_KEY_LENGTH = 63 + 1 + 30;

export interface FunctionRef {
  /** The short name (a DNS label), as the API and the manifest give it. */
  readonly name: string;
  readonly workspace: string;
}

/** True for a workspace name (the format only; whether it exists is the control plane's). */
export function isWorkspaceName(text: string): boolean {
  return WORKSPACE_NAME.test(text);
}

/** The key of `name` in `workspace`. RangeError when either is not a valid name (callers checked them). */
export function functionKey(name: string, workspace: string): string {
  if (!FUNCTION_NAME.test(name)) throw new RangeError(`not a function name: ${JSON.stringify(name)}`);
  if (!WORKSPACE_NAME.test(workspace)) throw new RangeError(`not a workspace name: ${JSON.stringify(workspace)}`);
  return workspace === DEFAULT_WORKSPACE ? name : `${name}.${workspace}`;
}

/**
 * The name and workspace of a key, or null when `key` is not one: not `<label>` or
 * `<label>.<workspace>`, or the non-canonical `<name>.default` (the default workspace's key is the
 * bare name, so no function has two keys and no URL aliases another).
 */
export function parseFunctionKey(key: string): FunctionRef | null {
  const dot = key.indexOf('.');
  if (dot === -1) return FUNCTION_NAME.test(key) ? { name: key, workspace: DEFAULT_WORKSPACE } : null;
  const name = key.slice(0, dot);
  const workspace = key.slice(dot + 1);
  if (workspace === DEFAULT_WORKSPACE || !FUNCTION_NAME.test(name) || !WORKSPACE_NAME.test(workspace)) return null;
  return { name, workspace };
}

/** True for a well-formed, canonical key (what `/fn/<key>/` accepts). */
export function isFunctionKey(key: string): boolean {
  return key.length <= MAX_FUNCTION_KEY_LENGTH && parseFunctionKey(key) !== null;
}

/**
 * The workspace of a key; `default` for anything that is not a key (names recorded by a
 * functions directory, records written before workspaces), so a stray string never lands in
 * another tenant's view.
 */
export function workspaceOfKey(key: string): string {
  return parseFunctionKey(key)?.workspace ?? DEFAULT_WORKSPACE;
}

/** The short name of a key (the key itself when it is not one). */
export function nameOfKey(key: string): string {
  return parseFunctionKey(key)?.name ?? key;
}
