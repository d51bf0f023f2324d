/**
 * Request validation: JSON bodies, query strings and path parameters, each checked with a zod
 * schema and turned into one registry error that names the offending field (`limits.timeout`,
 * `files[3].path`, `query.since`) and lists every problem found in `issues`.
 */
import { z } from 'zod';
import { FUNCTION_NAME, PlatformError, readJsonText, type ErrorCode } from '../../protocol/index.js';

export interface Issue {
  code: ErrorCode;
  field: string;
  message: string;
}

/**
 * The body as JSON; an empty body is `{}`. INVALID_JSON when it is not UTF-8 or not JSON;
 * JSON_TOO_DEEP (with the top-level `field` holding it) when it nests deeper than MAX_JSON_DEPTH,
 * found before anything recursive runs (protocol/json-text.ts).
 */
export function parseJson(bytes: Uint8Array): unknown {
  const read = readJsonText(bytes);
  if (read.ok) return read.value;
  const { code, message, ...details } = read.problem;
  throw new PlatformError(code, message, details);
}

export interface ValidateOptions {
  /** Prepended to every field, e.g. `query`. */
  prefix?: string;
  /** Fields holding a function name: a bad value there is INVALID_NAME. Default `['name']`. */
  nameFields?: readonly string[];
}

/** The parsed value, or a PlatformError for the first problem with all of them in `issues`. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, options: ValidateOptions = {}): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const nameFields = options.nameFields ?? ['name'];
  const issues: Issue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ code: 'UNKNOWN_FIELD', field: fieldOf([...issue.path, key], options.prefix), message: `unknown field ${JSON.stringify(key)}` });
      }
      continue;
    }
    const field = fieldOf(issue.path, options.prefix);
    // A record's key (an env or secret name): what is wrong with the key, not zod's "Invalid key in record".
    const message = issue.code === 'invalid_key' && issue.issues.length > 0 ? issue.issues[0]!.message : issue.message;
    issues.push({ code: nameFields.includes(field) ? 'INVALID_NAME' : 'INVALID_FIELD', field, message });
  }
  // An unknown field is usually a typo of a missing one: name it first.
  issues.sort((a, b) => Number(b.code === 'UNKNOWN_FIELD') - Number(a.code === 'UNKNOWN_FIELD'));
  throw invalid(issues);
}

export function invalid(issues: Issue[]): PlatformError {
  const first = issues[0]!;
  return new PlatformError(first.code, `${first.field}: ${first.message}`, { field: first.field, issues });
}

/** `['files', 3, 'path']` → `files[3].path`; the empty path is `body` (or the prefix). */
export function fieldOf(path: readonly PropertyKey[], prefix?: string): string {
  let out = prefix ?? '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out === '' ? '' : '.'}${String(part)}`;
  return out === '' ? 'body' : out;
}

/** Query parameters as an object; a parameter given twice is INVALID_FIELD. */
export function parseQuery(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    if (key in out) throw new PlatformError('INVALID_FIELD', `query parameter ${key} is given more than once`, { field: `query.${key}` });
    out[key] = value;
  }
  return out;
}

/** A function name from the path: percent-decoded, then a DNS label, else INVALID_NAME. */
export function nameParam(raw: string): string {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    name = raw;
  }
  if (!FUNCTION_NAME.test(name)) {
    throw new PlatformError('INVALID_NAME', `${JSON.stringify(name)} is not a function name: 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen`, { field: 'name' });
  }
  return name;
}

/** A positive whole number from the path (a version number), else INVALID_FIELD on `field`. */
export function positiveIntParam(raw: string, field: string): number {
  const value = /^[1-9]\d{0,14}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value)) throw new PlatformError('INVALID_FIELD', `${field} must be a whole number from 1`, { field });
  return value;
}

/** A path parameter percent-decoded (for ids), else INVALID_FIELD. */
export function textParam(raw: string, field: string, pattern: RegExp): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    value = '';
  }
  if (!pattern.test(value)) throw new PlatformError('INVALID_FIELD', `${field} ${JSON.stringify(value)} is not valid`, { field });
  return value;
}

/** A function name from the path and its key in the call's workspace (the only way a path names a function). */
export function functionParam(raw: string, scope: { key(name: string): string }): { name: string; key: string } {
  const name = nameParam(raw);
  return { name, key: scope.key(name) };
}
