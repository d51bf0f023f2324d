/**
 * The encodings of a secret value that ./secret-mask.ts masks as the value (ADR 0258): what a
 * function prints by accident when a library encodes the secret for a wire, a header or a URL
 * (`Authorization: Basic base64(user:password)`, a token in a query, a key logged as bytes' hex).
 * Whole values of at least MIN_ENCODED_BYTES UTF-8 bytes only: a shorter one's forms (8 hex digits,
 * 5 base64 characters) are everyday words and numbers.
 */

/** Values shorter than this (UTF-8 bytes) are masked only as they are. */
export const MIN_ENCODED_BYTES = 8;
/**
 * The most UTF-16 units of encoded forms one function's mask holds (the values' own are up to
 * MAX_ENV_BYTES): the forms of the shortest values first, a longer value's past it only as it is.
 * The automaton's size, and the time to build it at the first line, stay a few times the values'.
 */
export const MAX_ENCODED_UNITS = 256 * 1024;

/**
 * A code unit as the automaton compares it: base64url's `-` and `_` as base64's `+` and `/`, so one
 * form of each alignment matches both alphabets (a value with `-` is then also found with `+`).
 */
export function normalizeUnit(unit: number): number {
  return unit === 45 ? 43 : unit === 95 ? 47 : unit;
}

/**
 * The forms of `value` other than itself, or [] when it is shorter than MIN_ENCODED_BYTES:
 * - base64 at each of the three offsets a value can have inside an encoded text (`user:` before a
 *   password), only the characters made of the value's bits alone (up to a character at each end,
 *   under 6 bits of the value, stays in clear); base64url through `normalizeUnit`;
 * - hex, lower and upper case;
 * - percent-encoded as JavaScript's `encodeURIComponent`, Python's `quote` (`/` kept) and
 *   `quote(safe="")`, each with spaces as `+` too (forms, `quote_plus`): where they differ from it.
 */
export function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length < MIN_ENCODED_BYTES) return [];
  const forms = new Set<string>();
  for (let shift = 0; shift < 3; shift++) {
    const text = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    forms.add(text.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + bytes.length)) / 6)));
  }
  const hex = bytes.toString('hex');
  forms.add(hex).add(hex.toUpperCase());
  for (const encoded of [encodeURIComponent(value), percent(bytes, /[A-Za-z0-9_.~/-]/), percent(bytes, /[A-Za-z0-9_.~-]/)]) {
    forms.add(encoded).add(encoded.replace(/%20/g, '+'));
  }
  forms.delete(value);
  return [...forms];
}

/** `bytes` percent-encoded, upper-case hex, but for the ASCII characters `safe` matches. */
function percent(bytes: Buffer, safe: RegExp): string {
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += byte < 128 && safe.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
