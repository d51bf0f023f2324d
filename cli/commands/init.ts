/** `init [dir]`: scaffolds a function from templates/ without overwriting anything. */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { positionals, str, type ParsedArgs } from '../args.js';
import { PACKAGE_ROOT } from '../config.js';
import type { Command, Context } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { FUNCTION_NAME } from '../../protocol/index.js';

export const TEMPLATES = ['handler', 'fastapi'] as const;
export const TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');

/** A DNS label from a folder name (`My App_2` → `my-app-2`), or null if nothing usable is left. */
export function nameFromFolder(folder: string): string | null {
  const name = folder.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return FUNCTION_NAME.test(name) ? name : null;
}

/** The template's files with `{{name}}` filled in: file name → content. */
export async function renderTemplate(template: string, name: string): Promise<Map<string, string>> {
  const dir = join(TEMPLATES_DIR, template);
  const files = new Map<string, string>();
  for (const file of (await readdir(dir)).sort()) {
    files.set(file, (await readFile(join(dir, file), 'utf8')).replaceAll('{{name}}', name));
  }
  return files;
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const [dirArg] = positionals(args, 1, 'init');
  const dir = resolve(ctx.cwd, dirArg ?? '.');
  const template = str(args, 'template') ?? 'handler';
  if (!(TEMPLATES as readonly string[]).includes(template)) throw usageError(`--template must be one of ${TEMPLATES.join(', ')}, got ${JSON.stringify(template)}`);
  const requested = str(args, 'name');
  const name = requested ?? nameFromFolder(basename(dir));
  if (name === null) throw usageError(`cannot make a function name from the folder name ${JSON.stringify(basename(dir))}; pass --name`);
  if (!FUNCTION_NAME.test(name)) {
    throw usageError(`--name ${JSON.stringify(name)} is not a valid function name: 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen`);
  }

  const files = await renderTemplate(template, name);
  const existing = [...files.keys()].filter((f) => existsSync(join(dir, f)));
  if (existing.length > 0) {
    throw new CliError(EXIT.FAILURE, 'FILES_EXIST', `${existing.map((f) => join(dir, f)).join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written (init never overwrites)`, { files: existing });
  }
  await mkdir(dir, { recursive: true });
  // `wx`: fail rather than overwrite if a file appeared since the check above.
  for (const [file, content] of files) await writeFile(join(dir, file), content, { flag: 'wx' });

  const shown = relative(ctx.cwd, dir) || '.';
  ctx.out.data({ ok: true, dir, name, template, files: [...files.keys()] });
  ctx.out.line(`Created function "${name}" (${template} template) in ${shown}:`);
  for (const file of files.keys()) ctx.out.line(`  ${file}`);
  ctx.out.line();
  ctx.out.line('Next:');
  if (shown !== '.') ctx.out.line(`  cd ${shown}`);
  ctx.out.line('  fastapi-platform validate');
  ctx.out.line('  fastapi-platform deploy');
  ctx.out.line(`  fastapi-platform invoke ${name} --file payload.json${template === 'fastapi' ? ' --path /greet' : ''}`);
  return EXIT.OK;
}

export const initCommand: Command = {
  name: 'init',
  summary: 'scaffold a function: code, platform.yaml and a sample payload.json',
  usage: 'init [dir] [--name NAME] [--template handler|fastapi]',
  details: 'dir defaults to the current folder (created if missing); the name defaults to the folder name. Existing files are never overwritten: if any would be, nothing is written and the exit code is 1.',
  options: {
    name: { type: 'string', value: 'NAME', description: 'function name (a DNS label; default: from the folder name)' },
    template: { type: 'string', value: 'T', description: 'handler (handler(event, context), the default) or fastapi (an ASGI app)' },
  },
  run,
};
