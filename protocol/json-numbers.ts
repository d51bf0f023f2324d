/**
 * JSON numbers that JavaScript cannot hold. Python writes integers of any size (`2**70`, a
 * database's 64-bit ids), and `JSON.parse` turns `9007199254740993` into `9007199254740992` and
 * `123456789012345678901234567890` into `1.2345678901234568e+29`: a body parsed and written again
 * by the platform (the API's run results and test invokes, the CLI's indented answers) showed
 * other numbers than the function sent (newcomer round 5, docs/adr/0063-newcomer-round-5.md).
 * These helpers work on the text, so a body is shown as sent. Dependency-free: the CLI, the control
 * plane and the console use it.
 */

/** Each number literal of a JSON text (outside its strings), in order. The text is not validated. */
function* numberLiterals(text: string): Generator<string> {
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
      i++;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < text.length && /[0-9eE.+-]/.test(text[i]!)) i++;
      yield text.slice(start, i);
    } else {
      i++;
    }
  }
}

/**
 * Whether `JSON.parse(text)` keeps every number: false when an integer literal is beyond what a
 * double holds exactly (|n| > 2^53 and changed by the parse) or a number overflows to Infinity.
 * Fractions are not counted: a double is all they ever were (Python writes them round-trippable).
 */
export function jsonNumbersSurviveParse(text: string): boolean {
  for (const literal of numberLiterals(text)) {
    const value = Number(literal);
    if (!Number.isFinite(value)) return false;
    if (/^-?\d+$/.test(literal) && !Number.isSafeInteger(value)) {
      try {
        if (BigInt(literal) !== BigInt(value)) return false;
      } catch {
        return false;
      }
    }
  }
  return true;
}

/**
 * A JSON text indented as `JSON.stringify(JSON.parse(text), null, indent)` would be, but from the
 * text itself: numbers and string escapes stay as they were sent. For valid JSON only (callers
 * parse it first to know it is).
 */
export function indentJsonText(text: string, indent = 2): string {
  const pad = (depth: number): string => `\n${' '.repeat(depth * indent)}`;
  let out = '';
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      const start = i;
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      out += text.slice(start, i);
      continue;
    }
    i++;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') continue;
    if (ch === '{' || ch === '[') {
      // An empty object or array stays `{}` / `[]`.
      let j = i;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] === (ch === '{' ? '}' : ']')) {
        out += ch === '{' ? '{}' : '[]';
        i = j + 1;
        continue;
      }
      depth++;
      out += ch + pad(depth);
    } else if (ch === '}' || ch === ']') {
      depth--;
      out += pad(depth) + ch;
    } else if (ch === ',') {
      out += ',' + pad(depth);
    } else if (ch === ':') {
      out += ': ';
    } else {
      out += ch;
    }
  }
  return out;
}
