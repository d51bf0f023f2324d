/**
 * Command-line parsing on `node:util` parseArgs: global options may appear before or after the
 * command; every option is declared with its help text, so `--help` is generated from the same
 * table that parses. Parse errors are usage errors (exit 2).
 */
import { parseArgs } from 'node:util';
import { usageError } from './errors.js';
import { didYouMean } from './near-words.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in help as `--name VALUE`. */
  value?: string;
  description: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** Options every command accepts. */
export const GLOBAL_OPTIONS: OptionTable = {
  url: { type: 'string', value: 'URL', description: 'platform URL (default: FP_URL, the credentials file, or http://127.0.0.1:8080)' },
  token: { type: 'string', value: 'TOKEN', description: 'API token: the admin token or a workspace token (default: FP_TOKEN or the profile)' },
  profile: { type: 'string', value: 'NAME', description: 'the saved profile to use (default: FP_PROFILE, else the default profile; see login)' },
  workspace: { type: 'string', short: 'w', value: 'NAME', description: 'the workspace an admin token acts in (default: FP_WORKSPACE, the profile\'s, else default)' },
  json: { type: 'boolean', description: 'print one JSON object on stdout instead of text: ok, a list in items, a failure in error {code, message, exitCode}' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
  version: { type: 'boolean', description: 'print the CLI version' },
};

export type OptionValue = string | boolean | string[] | boolean[] | undefined;

export interface ParsedArgs {
  values: Record<string, OptionValue>;
  positionals: string[];
}

/** The command name: the first argument that is neither an option nor a global option's value. */
export function splitCommand(argv: readonly string[]): { command: string | null; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-') && arg !== '-') {
      const name = arg.replace(/^--?/, '');
      // `--url X` (and `-w X`) consumes X; `--url=X` does not.
      const option = arg.startsWith('--') ? GLOBAL_OPTIONS[name] : Object.values(GLOBAL_OPTIONS).find((o) => o.short === name);
      if (!name.includes('=') && option?.type === 'string') i++;
      continue;
    }
    return { command: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: null, rest: [...argv] };
}

/**
 * Other tools' words for an option this CLI names otherwise (too far apart for `didYouMean`):
 * `tokens create --name` → `--label`, `logs --tail` (kubectl) → `--limit`, `--ttl` → `--expires`.
 */
const SYNONYMS: Record<string, readonly string[]> = {
  label: ['name', 'description', 'desc'],
  limit: ['tail', 'lines', 'count'],
  expires: ['ttl', 'expiry', 'expire', 'expires-in', 'lifetime'],
  data: ['body', 'payload'],
  yes: ['confirm', 'assume-yes', 'non-interactive'],
};

/** Options other tools name a function by; here it is the command's first argument (`runs hello`). */
const FUNCTION_OPTIONS = ['function', 'fn', 'function-name'];

/** `; did you mean "--label"?` when `option` (`--name`) is another tool's word for one of `table`'s options. */
function synonymOf(option: string, table: OptionTable, usage: string | undefined): string | undefined {
  const word = option.slice(2);
  const takesFunction = usage !== undefined && /[<[](name|fn)[>\]]/.test(usage);
  if (FUNCTION_OPTIONS.includes(word) && table[word] === undefined && takesFunction) {
    return `; the function is an argument, not an option: fastapi-platform ${usage.split(' | ')[0]!.trim()}`;
  }
  const meant = Object.keys(SYNONYMS).find((name) => table[name] !== undefined && SYNONYMS[name]!.includes(word));
  return meant === undefined ? undefined : `; did you mean ${JSON.stringify(`--${meant}`)}?`;
}

/** Parses `argv` (without the command) against the command's options plus the global ones. */
export function parseCommandArgs(argv: readonly string[], options: OptionTable, commandName: string, usage?: string): ParsedArgs {
  const table = { ...GLOBAL_OPTIONS, ...options };
  const config = Object.fromEntries(
    Object.entries(table).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true });
    return { values: values as Record<string, OptionValue>, positionals };
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '');
    // `--dryrun`, `--mesage`: the option meant, as an unknown command or subcommand names it.
    const unknown = /^Unknown option '(--[^']+)'/.exec(message)?.[1];
    const near = unknown === undefined ? '' : synonymOf(unknown, table, usage) ?? didYouMean(unknown, Object.keys(table).map((k) => `--${k}`));
    throw usageError(`${message}${near}\nRun \`fastapi-platform ${commandName} --help\` for usage.`);
  }
}

/** A string option's value, or undefined. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** A repeated string option's values (empty when absent). */
export function list(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * A string option that takes one of `allowed`, or undefined when absent; anything else is a usage
 * error naming them and, for a typo (`--status faild`), the one meant (new-user round 8).
 */
export function choice<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[], options: { near?: boolean; otherWords?: Readonly<Record<string, T>> } = {}): T | undefined {
  const value = str(args, name);
  if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
  // Another word for a value, too far for an edit (`--status failure`, `error`: new-user round 15).
  const other = options.otherWords !== undefined && Object.hasOwn(options.otherWords, value.toLowerCase()) ? options.otherWords[value.toLowerCase()] : undefined;
  // Not for lengths of time: `2h` is one letter from `1h` and `24h`, and means neither.
  const near = other !== undefined ? `; did you mean ${JSON.stringify(other)}?` : options.near === false ? '' : didYouMean(value, allowed);
  throw usageError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}${near}`);
}

/** A whole number option within [min, max], or the default. */
export function int(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const text = str(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** At most `max` positionals, else a usage error naming the extra ones. */
export function positionals(args: ParsedArgs, max: number, commandName: string): string[] {
  if (args.positionals.length > max) {
    throw usageError(`unexpected argument ${JSON.stringify(args.positionals[max])}\nRun \`fastapi-platform ${commandName} --help\` for usage.`);
  }
  return args.positionals;
}

/** Help text for a table of options, aligned. */
export function formatOptions(options: OptionTable): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return [left, o.description + (o.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`).join('\n');
}
