/**
 * The function of the folder a command runs in: `name:` at the top level of its platform.yaml.
 * `logs`, `invoke` and `rollback` take it when no name is given, as `deploy` and `dev` take the
 * folder (helper round, 2026-12-05: inside a function folder they still asked for the name). A
 * line, not a YAML parse: this runs before any command module is loaded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const NAME_LINE = /^name:[ \t]*["']?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)["']?[ \t]*(?:#.*)?$/m;

/** The `name` of `<dir>/platform.yaml`, or null when there is none (or it names none). */
export function functionOfFolder(dir: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(dir, 'platform.yaml'), 'utf8');
  } catch {
    return null;
  }
  return NAME_LINE.exec(text)?.[1] ?? null;
}
