/**
 * `did you mean "my-fn"?` for a function name one or two edits from one of the workspace's: one
 * listing call, on an error path only. Used by main.ts for a FUNCTION_NOT_FOUND of the API and by
 * `invoke` for the gateway's 404 (ADR 0055).
 */
import type { ParsedArgs } from './args.js';
import type { Context } from './context.js';
import { editDistance } from './near-words.js';

// Where they were first: the commands import them from here.
export { didYouMean, editDistance } from './near-words.js';

/** The workspace's function nearest to `asked` (two edits at most), or null; null too when the listing fails. */
export async function nearFunctionName(ctx: Context, args: ParsedArgs, asked: string): Promise<string | null> {
  try {
    // Loaded here, not at the top: a start loads no zod before a command needs it (test/e2e/cli.test.ts).
    const { clientOf } = await import('./context.js');
    const { items } = await (await clientOf(ctx, args)).listFunctions();
    return nearest(items.map((f) => f.name), asked);
  } catch {
    return null;
  }
}

/**
 * A workspace token sent with another workspace's name (`-w default` with a token of acme) gets
 * WORKSPACE_NOT_FOUND, by design (a token learns nothing of other workspaces: docs/api.md), and
 * read as "there is no workspace default". Returns the token's own workspace when that is the
 * case (one GET /whoami, on the error path), else null.
 */
export async function workspaceTokenElsewhere(ctx: Context, args: ParsedArgs, asked: string): Promise<string | null> {
  try {
    const { clientFor, targetOf } = await import('./context.js');
    const { TOKEN_PREFIXES } = await import('../protocol/index.js');
    const { target } = await targetOf(ctx, args);
    if (target.workspace !== asked || target.token?.startsWith(TOKEN_PREFIXES.workspace) !== true) return null;
    const own = (await clientFor(ctx, { ...target, workspace: undefined }).whoami()).workspace;
    return own !== asked ? own : null;
  } catch {
    return null;
  }
}

/** The workspace nearest to `asked` among those the token may list (the admin token), or null. */
export async function nearWorkspaceName(ctx: Context, args: ParsedArgs, asked: string): Promise<string | null> {
  try {
    const { clientFor, targetOf } = await import('./context.js');
    // Listed without the mistyped workspace (`-w defualt` would make the listing fail too).
    const { target } = await targetOf(ctx, args);
    const { items } = await clientFor(ctx, { ...target, workspace: undefined }).listWorkspaces();
    return nearest(items.map((w) => w.name), asked);
  } catch {
    return null;
  }
}

function nearest(names: readonly string[], asked: string): string | null {
  return names.filter((n) => n !== asked && editDistance(n, asked) <= 2).sort((a, b) => editDistance(a, asked) - editDistance(b, asked))[0] ?? null;
}

/** Workspaces looked in for a function not found in the one in use (the first ones listed). */
const MAX_WORKSPACES_LOOKED_IN = 20;

/**
 * The other workspaces that have a function named `asked`, for a token that may list them (the
 * admin token: a workspace token sees its own only): `invoke my-fn` after deploying it with a token
 * of team-a was "not deployed in this workspace", with nothing saying where it was (new-user round
 * 10). On an error path only; [] when the listings fail.
 */
export async function workspacesHolding(ctx: Context, args: ParsedArgs, asked: string): Promise<string[]> {
  try {
    const { clientFor, targetOf } = await import('./context.js');
    const { DEFAULT_WORKSPACE } = await import('../protocol/index.js');
    const { target } = await targetOf(ctx, args);
    const { items } = await clientFor(ctx, { ...target, workspace: undefined }).listWorkspaces();
    const inUse = target.workspace ?? DEFAULT_WORKSPACE;
    const others = items.map((w) => w.name).filter((w) => w !== inUse).slice(0, MAX_WORKSPACES_LOOKED_IN);
    const found = await Promise.all(others.map(async (w) => {
      const listed = await clientFor(ctx, { ...target, workspace: w }).listFunctions().catch(() => ({ items: [] }));
      return listed.items.some((f) => f.name === asked) ? w : null;
    }));
    return found.filter((w): w is string => w !== null);
  } catch {
    return [];
  }
}

/** `; it is in workspace team-a: add -w team-a` (or several), or '' . */
export function elsewhereText(workspaces: readonly string[]): string {
  if (workspaces.length === 0) return '';
  return workspaces.length === 1 ? `; it is in workspace ${JSON.stringify(workspaces[0])}: add \`-w ${workspaces[0]}\`` : `; workspaces ${workspaces.map((w) => JSON.stringify(w)).join(', ')} have one by that name: add \`-w <workspace>\``;
}
