/**
 * A function folder's `.env`: local values for `dev` (docs/cli.md, "dev"). Never part of a bundle
 * (dotfiles are not uploaded) and `init` puts it in .gitignore. The format, the common subset:
 * `NAME=value` per line, an optional `export ` before the name, `#` comments on their own line
 * or after an unquoted value (` #`), blank lines; values unquoted (trimmed), in single quotes
 * (literal) or in double quotes (`\n`, `\t`, `\"`, `\\` escapes). No `${VAR}` expansion, no
 * multi-line values. A line that is none of these is a problem with its line number.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ENV_NAME } from '../protocol/index.js';

export const DOTENV_FILE = '.env';

export interface DotenvProblem {
  file: string;
  line: number;
  message: string;
}

export interface Dotenv {
  /** In file order; a repeated name keeps its last value. */
  values: Record<string, string>;
  problems: DotenvProblem[];
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };

/** Parses `.env` text; pure. */
export function parseDotenv(text: string, file = DOTENV_FILE): Dotenv {
  const values: Record<string, string> = {};
  const problems: DotenvProblem[] = [];
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const problem = (message: string): void => void problems.push({ file, line: i + 1, message });
    const assignment = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (assignment === null) return problem('expected NAME=value');
    const [, name, rest] = assignment as unknown as [string, string, string];
    if (!ENV_NAME.test(name)) return problem(`${JSON.stringify(name)} is not an env name: letters, digits and _, not starting with a digit`);
    const value = parseValue(rest);
    if (typeof value !== 'string') return problem(value.error);
    if (value.includes('\0')) return problem(`the value of ${name} contains NUL`);
    values[name] = value;
  });
  return { values, problems };
}

function parseValue(rest: string): string | { error: string } {
  const quote = rest[0];
  if (quote === "'" || quote === '"') {
    const end = quote === "'" ? rest.indexOf("'", 1) : closingDoubleQuote(rest);
    if (end < 0) return { error: `no closing ${quote} (values are one line)` };
    const after = rest.slice(end + 1).trim();
    if (after !== '' && !after.startsWith('#')) return { error: `unexpected text after the closing ${quote}` };
    const inner = rest.slice(1, end);
    return quote === "'" ? inner : inner.replace(/\\(.)/g, (whole, c: string) => ESCAPES[c] ?? whole);
  }
  const comment = rest.search(/\s#/);
  return (comment < 0 ? rest : rest.slice(0, comment)).trim();
}

/** The index of the `"` closing a double-quoted value starting at 0, skipping escaped ones; -1 if none. */
function closingDoubleQuote(text: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** Reads `<dir>/.env`; an absent file is no values and no problems. */
export async function readDotenv(dir: string): Promise<Dotenv & { present: boolean }> {
  let text: string;
  try {
    text = await readFile(join(dir, DOTENV_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { values: {}, problems: [], present: false };
    return { values: {}, problems: [{ file: DOTENV_FILE, line: 0, message: `cannot be read: ${(err as Error).message}` }], present: true };
  }
  return { ...parseDotenv(text), present: true };
}
