/**
 * Token roles (docs/adr/0011-tenants.md, "Tokens"): each includes the ones below it. A workspace
 * token has one of the four; the install's root (admin) token stands above them all and acts in
 * any workspace. The API declares the least role each operation needs; a call below it answers
 * 403 ROLE_FORBIDDEN naming that role.
 */
export const ROLES = ['viewer', 'invoker', 'deployer', 'owner'] as const;
export type Role = (typeof ROLES)[number];

/** What an operation may require: a workspace role, or the root token itself. */
export type RequiredRole = Role | 'root';

const RANK: Readonly<Record<RequiredRole, number>> = Object.freeze({ viewer: 1, invoker: 2, deployer: 3, owner: 4, root: 5 });

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when a caller holding `held` may do what needs `required`. */
export function roleAllows(held: RequiredRole, required: RequiredRole): boolean {
  return RANK[held] >= RANK[required];
}

/**
 * Every platform token starts with its kind's prefix: `fpa_` the root (admin) token, `fpw_` a
 * workspace token, `fpi_` a function's invoke token. Recognisable in logs and by secret scanners,
 * and by the gateway, which never hands one to a function (docs/api-invoke.md).
 */
export const TOKEN_PREFIXES = Object.freeze({ admin: 'fpa_', workspace: 'fpw_', invoke: 'fpi_' } as const);

/** True for a bearer value that is (or poses as) a platform token. */
export function isPlatformToken(secret: string): boolean {
  return secret.startsWith(TOKEN_PREFIXES.admin) || secret.startsWith(TOKEN_PREFIXES.workspace) || secret.startsWith(TOKEN_PREFIXES.invoke);
}
