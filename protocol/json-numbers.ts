/**
 * JSON numbers that JavaScript cannot hold. Python writes integers of any size (`2**70`, a
 * database's 64-bit ids), and `JSON.parse` turns `9007199254740993` into `9007199254740992` and
 * `123456789012345678901234567890` into `1.2345678901234568e+29`: a body parsed and written again
 * by the platform (the API's run results and test invokes, the CLI's indented answers) showed
 * other numbers than the function sent (newcomer round 5, docs/adr/0063-newcomer-round-5.md).
 * These helpers work on the text, so a body is shown as sent. Dependency-free: the CLI, the control
 * plane and the console use it.
 */

/** 0-9 e E . + - */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x65 || c === 0x45 || c === 0x2e || c === 0x2b || c === 0x2d;
}

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
      while (i < text.length && isNumberChar(text.charCodeAt(i))) i++;
      yield text.slice(start, i);
    } else {
      i++;
    }
  }
}

/**
 * Whether `JSON.parse(text)` and writing it again keep every number: false when an integer literal
 * is beyond 2^53 and comes back with other digits (changed by the parse, or held exactly but
 * written in exponent form: `2**70` came back `1.1805916207174113e+21`), or a number overflows to
 * Infinity. Fractions are not counted: a double is all they ever were (Python writes them round-trippable).
 */
export function jsonNumbersSurviveParse(text: string): boolean {
  for (const literal of numberLiterals(text)) {
    const value = Number(literal);
    if (!Number.isFinite(value)) return false;
    if (/^-?\d+$/.test(literal) && !Number.isSafeInteger(value) && String(value) !== literal) return false;
  }
  return true;
}

/**
 * A JSON text indented as `JSON.stringify(JSON.parse(text), null, indent)` would be, but from the
 * text itself: numbers and string escapes stay as they were sent. For valid JSON only (callers
 * parse it first to know it is).
 */
export function indentJsonText(text: string, indent = 2): string {
  const pads: string[] = [];
  const pad = (depth: number): string => (pads[depth] ??= `\n${' '.repeat(depth * indent)}`);
  const out: string[] = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
      i++;
      out.push(text.slice(start, i));
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      // An empty object or array stays `{}` / `[]`.
      let j = i + 1;
      while (j < text.length && isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === c + 2 /* } or ] */) {
        out.push(c === 0x7b ? '{}' : '[]');
        i = j + 1;
        continue;
      }
      depth++;
      out.push(text[i]!, pad(depth));
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      out.push(pad(depth), text[i]!);
      i++;
    } else if (c === 0x2c /* , */) {
      out.push(',', pad(depth));
      i++;
    } else if (c === 0x3a /* : */) {
      out.push(': ');
      i++;
    } else if (isSpace(c)) {
      i++;
    } else {
      // A number, true, false or null: copied whole.
      const start = i;
      while (i < text.length && !endsLiteral(text.charCodeAt(i))) i++;
      out.push(text.slice(start, i));
    }
  }
  return out.join('');
}

/** Whitespace or , : ] } — what ends a number or a literal. */
function endsLiteral(c: number): boolean {
  return isSpace(c) || c === 0x2c || c === 0x3a || c === 0x5d || c === 0x7d;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
