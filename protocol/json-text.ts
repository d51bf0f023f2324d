/**
 * Reading an API request's JSON body strictly, before anything recursive touches it: the bytes
 * must be UTF-8 (never silently replaced with U+FFFD), and no array or object may sit deeper than
 * MAX_JSON_DEPTH. The depth comes from one linear scan over the bytes (no parse, no recursion), so
 * a 10 KB body nested 5,000 deep is refused in microseconds instead of overflowing a stack in
 * JSON.stringify, zod or a worker's structured clone (the "deep manifest" finding of the 2026-12
 * probe). Dependency-free on purpose: the bundle worker threads load it (controlplane/bundles).
 */

/**
 * Deepest nesting of arrays and objects a body may have; the body itself is level 1. 128 is
 * serde_json's default: manifests need about 6 levels and request payloads rarely 20, while the
 * recursive code behind the API (JSON.stringify in the stores, zod, structured clone, Python's
 * json) overflows only in the thousands.
 */
export const MAX_JSON_DEPTH = 128;

export type JsonTextProblem =
  /** `field` is `body`, or the path of a key given twice in one object (`env.FOO`). */
  | { code: 'INVALID_JSON'; field: string; message: string }
  /** `field` is the top-level member holding the nesting (`manifest`, `env`, …), else `body`. */
  | { code: 'JSON_TOO_DEEP'; field: string; message: string; limit: number };

export type JsonTextResult = { ok: true; value: unknown } | { ok: false; problem: JsonTextProblem };

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body parsed, or the problem; an empty (or all-whitespace) body is `{}`. Never throws. */
export function readJsonText(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): JsonTextResult {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, problem: { code: 'INVALID_JSON', field: 'body', message: 'the body is not valid UTF-8' } };
  }
  const deep = tooDeep(bytes, maxDepth);
  if (deep !== null) {
    return { ok: false, problem: { code: 'JSON_TOO_DEEP', field: deep, message: `${deep} nests arrays or objects deeper than ${maxDepth} levels`, limit: maxDepth } };
  }
  if (text.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    // Never the parser's message itself: V8 quotes a piece of the body in it, and a body may hold
    // secret values (docs/secrets.md). The position is enough to find the mistake.
    const position = /at position (\d+)/.exec((err as Error).message)?.[1];
    return { ok: false, problem: { code: 'INVALID_JSON', field: 'body', message: `the body is not valid JSON${position !== undefined ? ` (at position ${position})` : ''}` } };
  }
  const twice = duplicateKey(bytes);
  if (twice !== null) {
    // JSON.parse keeps the last: `{"env": {"FOO": "a", "FOO": "b"}}` would silently set FOO=b.
    // A `__proto__` key is refused the same way: every object schema (zod's records included)
    // drops it without a word, so `{"env": {"__proto__": "x"}}` was answered 200 and lost (red team 3).
    const message = twice.endsWith('__proto__') ? `${twice}: __proto__ cannot be a key here` : `${twice} is given twice in one object; give each key once`;
    return { ok: false, problem: { code: 'INVALID_JSON', field: twice, message } };
  }
  return { ok: true, value };
}

interface Frame {
  object: boolean;
  keys: Set<string> | null;
  /** The member being read (object) or the element's index (array), for the path. */
  at: string | number;
  expectKey: boolean;
}

/** `env.FOO`, `files[2].path`: the API's field names (docs/errors.md, UNKNOWN_FIELD). */
function pathOf(frames: readonly Frame[], key: string): string {
  let path = '';
  for (const f of frames) path += f.object ? `${path === '' ? '' : '.'}${String(f.at)}` : `[${String(f.at)}]`;
  return path === '' ? key : `${path}.${key}`;
}

/**
 * The path (`env.FOO`, `files[2].path`) of the first key given twice in one object, or of a
 * `__proto__` key, or null. Run on bytes that JSON.parse accepted; one linear pass, no recursion
 * (the depth is bounded already).
 */
export function duplicateKey(bytes: Uint8Array): string | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Frame[] = [];
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    const top = stack[stack.length - 1];
    if (b === QUOTE) {
      const end = closingQuote(buf, i);
      if (end < 0) return null;
      if (top !== undefined && top.object && top.expectKey) {
        const key = JSON.parse(buf.toString('utf8', i, end + 1)) as string;
        if (top.keys!.has(key) || key === '__proto__') return pathOf(stack.slice(0, -1), key);
        top.keys!.add(key);
        top.at = key;
        top.expectKey = false;
      }
      i = end;
    } else if (b === 0x7b || b === 0x5b) {
      stack.push({ object: b === 0x7b, keys: b === 0x7b ? new Set() : null, at: b === 0x7b ? '' : 0, expectKey: b === 0x7b });
    } else if (b === 0x7d || b === 0x5d) {
      stack.pop();
    } else if (b === COMMA && top !== undefined) {
      if (top.object) top.expectKey = true;
      else top.at = (top.at as number) + 1;
    }
  }
  return null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * Where the bytes first nest deeper than `maxDepth` (the top-level key, or `body`), or null.
 * Brackets inside strings do not count; malformed JSON is left for JSON.parse to report. Works
 * on bytes: `"`, `\`, brackets and commas never occur inside a multi-byte UTF-8 sequence.
 */
export function tooDeep(bytes: Uint8Array, maxDepth: number): string | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let depth = 0;
  let topObject = false;
  let expectKey = false;
  let key: [number, number] | null = null;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === QUOTE) {
      const end = closingQuote(buf, i);
      if (end < 0) return null;
      if (depth === 1 && expectKey) {
        key = [i, end + 1];
        expectKey = false;
      }
      i = end;
    } else if (b === 0x7b || b === 0x5b) {
      depth++;
      if (depth === 1) {
        topObject = b === 0x7b;
        expectKey = topObject;
      }
      if (depth > maxDepth) return topObject && key !== null ? keyText(buf, key) : 'body';
    } else if (b === 0x7d || b === 0x5d) {
      if (depth > 0) depth--;
    } else if (b === COMMA && depth === 1 && topObject) {
      expectKey = true;
    }
  }
  return null;
}

/** The index of the `"` closing the string opened at `open`, or -1. Skips the content with indexOf (base64 files are most of an upload). */
function closingQuote(buf: Buffer, open: number): number {
  let at = open + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, at);
    if (q < 0) return -1;
    let slashes = 0;
    while (q - 1 - slashes > open && buf[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
    at = q + 1;
  }
}

function keyText(buf: Buffer, [start, end]: [number, number]): string {
  try {
    const key = JSON.parse(buf.toString('utf8', start, end)) as unknown;
    return typeof key === 'string' && key !== '' ? key : 'body';
  } catch {
    return 'body';
  }
}
