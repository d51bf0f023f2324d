/**
 * What the tenancy routes accept (docs/api.md, "Workspaces", "Tokens", "Audit log"): strict zod
 * schemas like ./schemas.ts, with human units at the edge (`"500Mi"` of code, `"30d"` of expiry).
 */
import { z } from 'zod';
import { LONG_DURATION_PATTERN, MEMORY_PATTERN, parseLongDurationMs, parseMemoryBytes, ROLES, SHOWN_AS_IT_IS_BMP, isShownAsItIs, WORKSPACE_NAME } from '../../protocol/index.js';
import { intParam, timeParam } from './schemas.js';

const count = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Bytes as a number or in memory units (`"500Mi"`, `"2Gi"`), like `limits.memory`. */
const bytes = z.union([
  count,
  z.string().meta({ pattern: MEMORY_PATTERN.source }).transform((text, ctx) => {
    try {
      return parseMemoryBytes(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
]);

/** Quotas as given: each a number (bytes may have units), or null for no limit; keys not given are kept. */
export const quotasInput = z.strictObject({
  functions: count.nullable().optional(),
  instances: count.nullable().optional(),
  invocationsPerMinute: count.nullable().optional(),
  codeBytes: bytes.nullable().optional(),
  logBytes: bytes.nullable().optional(),
});

export const createWorkspaceBody = z.strictObject({
  name: z.string().regex(WORKSPACE_NAME, 'must be a DNS label of 1-30 characters: lowercase letters, digits or hyphens, not starting or ending with a hyphen'),
  /** Default: the install's FP_WORKSPACE_QUOTA_* settings. */
  quotas: quotasInput.optional(),
});

export const patchWorkspaceBody = z.strictObject({ quotas: quotasInput });

/** The longest token lifetime: ten years (a longer one is no expiry; omit `expiresIn` for that). */
const MAX_LIFETIME_MS = 3650 * 24 * 3_600_000;

/** A lifetime in long units (`30d`, `12h`), at most ten years; converted to an absolute `expiresAt` by the handler. */
const lifetime = z.string().meta({ pattern: LONG_DURATION_PATTERN.source }).transform((text, ctx) => {
  try {
    const ms = parseLongDurationMs(text);
    if (ms > MAX_LIFETIME_MS) {
      ctx.addIssue({ code: 'custom', message: 'at most 3650d (ten years); leave expiresIn out for a token that works until it is revoked' });
      return z.NEVER;
    }
    return ms;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const LABEL_RULE = 'must not hold control characters, line separators or invisible format characters (bidi marks and overrides, zero-width characters)';

export const createTokenBody = z.strictObject({
  role: z.enum(ROLES),
  /** Shown in lists and recorded as who in histories (default: the role). */
  // No control character, C1 included (8-bit CSI and OSC drive some terminals: `login`, `whoami` and
  // `tokens revoke` print it), no line separator and no invisible format character (bidi overrides,
  // red team round 9; U+061C and the rest of Unicode's Cf, dx round 4): the rule file names follow.
  // The pattern the OpenAPI document shows is the BMP's spelling of the rule; the refinement is the rule.
  label: z.string().max(100).regex(SHOWN_AS_IT_IS_BMP, LABEL_RULE).refine(isShownAsItIs, LABEL_RULE).optional(),
  /** How long the token works (`30d`, `12h`); absent: until revoked. */
  expiresIn: lifetime.optional(),
});

export const tokensQuery = z.strictObject({
  includeRevoked: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

export const auditQuery = z.strictObject({
  action: z.string().regex(/^[a-z][a-z.-]{0,63}$/, 'an action such as deploy or token.create').optional(),
  actor: z.string().regex(/^tok_[A-Za-z0-9_-]{1,64}$/, 'a token id').optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: intParam(1, 1000).optional(),
  cursor: z.string().min(1).max(1024).optional(),
  /** The root token: `all` lists every workspace's entries and the install-wide ones. */
  scope: z.enum(['workspace', 'all']).optional(),
});
