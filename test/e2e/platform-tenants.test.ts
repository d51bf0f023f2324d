/**
 * Tenants on the embedded platform (docs/adr/0011-tenants.md): two workspaces on one platform
 * cannot see or touch each other's functions, runs, usage, tokens, content or audit entries; every
 * role is refused above itself; expired and revoked tokens; a workspace with functions is not
 * deleted; the audit log holds every change, in order. Real runtimes, real HTTP.
 */
import { describe, it } from 'node:test';
import { usePlatform } from './platform-harness.js';
import { auditTrail, expiredAndRevoked, isolation, roles, workspaceDeletion } from './tenants-scenarios.js';
import type { Platform } from './tenants-harness.js';

const h = usePlatform({ poolSize: 2 });
const platform = (): Platform => ({ urls: [h.url], rootToken: h.api.token! });

describe('tenants (embedded)', () => {
  it('keeps two workspaces apart: lists, reads, invokes, deploys, runs, tokens, content, audit (404s)', () => isolation(platform()));
  it('refuses every role above itself with ROLE_FORBIDDEN; workspace tokens never reach root routes', () => roles(platform()));
  it('answers TOKEN_EXPIRED for an expired token and forgets a revoked one at once', () => expiredAndRevoked(platform()));
  it('refuses to delete a workspace with functions and changes nothing; deletes it emptied', () => workspaceDeletion(platform()));
  it('records every change in the audit log, in order, without secret values', () => auditTrail(platform()));
});
