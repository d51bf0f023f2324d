/** `init [dir]`: scaffolds a function from templates/ without overwriting anything. */
import { selfCommandOf, shellWord } from '../self-command.js';
import { constants, existsSync, lstatSync, statSync } from 'node:fs';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { positionals, str, type ParsedArgs } from '../args.js';
import { PACKAGE_ROOT } from '../config.js';
import type { Command, Context } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { didYouMean } from '../near-words.js';
import { functionFolderOf, functionOfFolder } from '../folder-function.js';
import { FUNCTION_NAME } from '../../protocol/index.js';
import { smallFileText } from '../small-file.js';
import { otherPlatform } from '../other-platforms.js';

export const TEMPLATES = ['http', 'webhook', 'cron', 'fastapi', 'worker', 'mongo'] as const;
/** Older names still taken. */
const ALIASES: Record<string, (typeof TEMPLATES)[number]> = { handler: 'http' };
export const TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');
/** Files every template gets (the local test helpers), unless it has its own. */
const SHARED_DIR = join(TEMPLATES_DIR, '_shared');
/** What `init` writes for `--ci github`. */
export const CI_TEMPLATES: Record<string, { path: string; source: string }> = {
  github: { path: '.github/workflows/deploy.yml', source: join(TEMPLATES_DIR, '_ci', 'github.yml') },
};

/**
 * A DNS label from a folder name (`My App_2` → `my-app-2`; `Café Ünï` → `cafe-uni`: a letter's
 * accents dropped, it was `caf-n`), or null if nothing usable is left.
 */
export function nameFromFolder(folder: string): string | null {
  const name = folder.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return FUNCTION_NAME.test(name) ? name : null;
}

/** The template's files (and the shared ones) with `{{name}}` filled in: relative path → content. */
export async function renderTemplate(template: string, name: string, ci?: string): Promise<Map<string, string>> {
  const dir = join(TEMPLATES_DIR, template);
  const files = new Map<string, string>();
  const fill = async (path: string): Promise<string> => (await readFile(path, 'utf8')).replaceAll('{{name}}', name);
  for (const file of (await readdir(dir)).sort()) files.set(file, await fill(join(dir, file)));
  for (const file of (await readdir(SHARED_DIR)).sort()) if (!files.has(file)) files.set(file, await fill(join(SHARED_DIR, file)));
  if (ci !== undefined) files.set(CI_TEMPLATES[ci]!.path, await fill(CI_TEMPLATES[ci]!.source));
  return files;
}

/** Folders an app's own code is not looked for in (environments, caches, tests, dependencies). */
const NOT_CODE = new Set(['venv', 'env', 'node_modules', '__pycache__', 'site-packages', 'tests', 'test', 'build', 'dist', 'migrations', 'alembic']);
/** A module-level app object: `app = FastAPI(`, `api: Flask = Flask(`, `app = fastapi.FastAPI(`. */
const APP_OBJECT = /^([A-Za-z_]\w*)\s*(?::[^=\n]+)?=\s*(?:[A-Za-z_][\w.]*\.)?(FastAPI|Starlette|Flask|Quart|Litestar)\s*\(/m;
/** File names an app usually lives in, most likely first. */
const APP_FILES = ['main.py', 'app.py', 'api.py', 'server.py', 'asgi.py', 'wsgi.py', '__init__.py'];
/** A module-level `handler(event, context)` (Lambda's `lambda_handler` too), in a file at the top of the folder. */
const HANDLER_FN = /^(?:async\s+)?def\s+(handler|lambda_handler|handle)\s*\(\s*event\s*(?::[^,)]*)?,\s*context\b/m;
/** File names a handler usually lives in, most likely first (Lambda's default is lambda_function.py). */
const HANDLER_FILES = ['main.py', 'handler.py', 'lambda_function.py', 'app.py', 'function.py'];

/** An app the folder's own code defines: where, its entrypoint and its framework. */
export interface FoundApp { file: string; entrypoint: string; framework: string }

/**
 * The app object a folder of existing code defines at module level (apps round 11: `deploy` in a
 * FastAPI project told the user to run `init .`, which refused because main.py existed, and
 * nothing said what platform.yaml needed). Looks at most 3 folders deep and at 300 `.py` files,
 * skipping dot-folders, environments and tests; a file whose module name Python cannot import
 * (`my-app.py`) is passed over. Prefers main.py, app.py, … then the shallowest, then by name.
 * pyproject.toml's `[tool.fastapi] entrypoint` (FastAPI CLI's setting) comes first.
 */
export async function findApp(dir: string): Promise<FoundApp | null> {
  // FastAPI CLI's own setting (`fastapi run` reads it): `[tool.fastapi]` `entrypoint = "app.main:app"`.
  // A small regular file only: a clone's link to /dev/zero was read up to 2 GiB (red team round 39).
  const read = await smallFileText(join(dir, 'pyproject.toml'), 1024 * 1024, null, '');
  const pyproject = typeof read === 'string' ? read : '';
  let inTable = false;
  for (const line of pyproject.slice(0, 262_144).split('\n').map((l) => l.trim())) {
    if (line.startsWith('[')) inTable = line === '[tool.fastapi]';
    const named = inTable ? /^entrypoint\s*=\s*["']([A-Za-z_][\w.]*:[A-Za-z_]\w*)["']\s*(?:#.*)?$/.exec(line) : null;
    if (named !== null) return { file: 'pyproject.toml', entrypoint: named[1]!, framework: 'FastAPI' };
  }
  const found: { rel: string; attr: string; framework: string }[] = [];
  const handlers: { rel: string; attr: string }[] = [];
  let budget = 300;
  const walk = async (rel: string, depth: number): Promise<void> => {
    let entries;
    try { entries = await readdir(join(dir, rel), { withFileTypes: true }); } catch { return; }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (budget <= 0 || e.name.startsWith('.')) continue;
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (depth < 3 && !NOT_CODE.has(e.name) && /^[A-Za-z_]\w*$/.test(e.name)) await walk(path, depth + 1);
      } else if (e.isFile() && /^[A-Za-z_]\w*\.py$/.test(e.name) && !e.name.startsWith('test_') && e.name !== 'conftest.py') {
        budget -= 1;
        let text: string;
        try { text = (await readFile(join(dir, path), 'utf8')).slice(0, 262_144); } catch { continue; }
        const m = APP_OBJECT.exec(text);
        if (m !== null) found.push({ rel: path, attr: m[1]!, framework: m[2]! });
        const h = depth === 0 ? HANDLER_FN.exec(text) : null;
        if (h !== null) handlers.push({ rel: path, attr: h[1]! });
      }
    }
  };
  await walk('', 0);
  const rank = (rel: string): [number, number, string] => {
    const i = APP_FILES.indexOf(rel.split('/').pop()!);
    return [rel.split('/').length, i === -1 ? APP_FILES.length : i, rel];
  };
  found.sort((a, b) => {
    const [da, fa, ra] = rank(a.rel); const [db, fb, rb] = rank(b.rel);
    return da - db || fa - fb || (ra < rb ? -1 : ra > rb ? 1 : 0);
  });
  const best = found[0];
  if (best === undefined) {
    // No app: a handler(event, context) of its own, as the http template's (a Lambda function's
    // code, a folder that lost its platform.yaml: validate said `init .`, which refused).
    const order = (rel: string): number => (HANDLER_FILES.includes(rel) ? HANDLER_FILES.indexOf(rel) : HANDLER_FILES.length);
    const handler = handlers.sort((a, b) => order(a.rel) - order(b.rel) || (a.rel < b.rel ? -1 : 1))[0];
    return handler === undefined ? null : { file: handler.rel, entrypoint: `${handler.rel.replace(/\.py$/, '')}:${handler.attr}`, framework: 'handler' };
  }
  const module = best.rel.replace(/\.py$/, '').replace(/\/__init__$/, '').split('/').join('.');
  return { file: best.rel, entrypoint: `${module}:${best.attr}`, framework: best.framework };
}

/** What marks a Python project's own folder: what its dependencies are declared in. */
const PROJECT_FILES = ['requirements.txt', 'pyproject.toml'];

/**
 * The folder below `dir` that is the project of the app in `file` (relative): the deepest folder on its
 * way holding requirements.txt or pyproject.toml, when `dir` itself holds neither (a repository whose
 * backend/ is the Python project: FastAPI's full-stack template). Null when `dir` is the project.
 */
export function projectBelow(dir: string, file: string): { folder: string; marker: string } | null {
  if (PROJECT_FILES.some((f) => existsSync(join(dir, f)))) return null;
  const parts = file.split('/').slice(0, -1);
  for (let n = parts.length; n > 0; n--) {
    const folder = parts.slice(0, n).join('/');
    const marker = PROJECT_FILES.find((f) => existsSync(join(dir, folder, f)));
    if (marker !== undefined) return { folder, marker };
  }
  return null;
}

/** platform.yaml for an app found in existing code: the fastapi template's (a handler: the http template's), with its entrypoint. */
async function manifestFor(app: FoundApp, name: string): Promise<string> {
  if (app.framework === 'handler') {
    // Lambda's `lambda_handler` reads API Gateway's event (`body` a str): give it that event, as
    // validate's advice for such a folder says (new-user round 12: init left it out, and
    // `event["body"].split("&")` failed on the platform's bytes).
    const lambda = app.entrypoint.endsWith(':lambda_handler') ? "\nevent: lambda              # API Gateway's event, as Lambda gives it (body a str): Lambda code runs as it is" : '';
    return (await readFile(join(TEMPLATES_DIR, 'http', 'platform.yaml'), 'utf8'))
      .replaceAll('{{name}}', name)
      .replace(/^entrypoint: .*$/m, `entrypoint: ${app.entrypoint}   # module:attr, handler(event, context): the one found in ${app.file}${lambda}`);
  }
  const kind = app.framework === 'Flask' ? 'a WSGI app' : 'an ASGI app';
  return (await readFile(join(TEMPLATES_DIR, 'fastapi', 'platform.yaml'), 'utf8'))
    .replaceAll('{{name}}', name)
    .replace(/^entrypoint: .*$/m, `entrypoint: ${app.entrypoint}   # module:attr, ${kind}: the ${app.framework} app found in ${app.file}`);
}

/** Lines `.gitignore` must have: local secrets (`env pull` writes `.env`) and caches. */
const IGNORED = ['.env', '__pycache__/', '.pytest_cache/'];

/** `.gitignore` with IGNORED added (the lines it lacks), or null when nothing is missing. */
export function gitignoreWith(existing: string | null): string | null {
  const have = new Set((existing ?? '').split(/\r?\n/).map((l) => l.trim()));
  const missing = IGNORED.filter((l) => !have.has(l));
  if (missing.length === 0) return null;
  const base = existing === null || existing === '' ? '' : existing.endsWith('\n') ? existing : `${existing}\n`;
  return `${base}${missing.join('\n')}\n`;
}

/**
 * The first part of `file`'s path under `dir` (the file itself or a folder above it) that is a
 * symbolic link, or null. A folder handed over (a clone, an archive) may hold `.github -> ~/x` or
 * `tests -> /etc/cron.d`: writing through it would put init's files outside the folder.
 */
function linkOnTheWay(dir: string, file: string): string | null {
  const parts = file.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join('/');
    try {
      if (lstatSync(join(dir, rel)).isSymbolicLink()) return rel;
    } catch {
      return null; // nothing there yet: init makes it
    }
  }
  return null;
}

/**
 * Adds the lines `.gitignore` must have to the folder's file (made if absent), never through a
 * link: a folder handed over with `.gitignore -> ~/.ssh/config` (or a link to a file not there
 * yet) had init append to, or create, that file outside the folder (red team round 11). Answers
 * the new text, null when nothing was missing, `'link'` when it is a link or not a plain file
 * (left as it is).
 */
async function addToGitignore(file: string): Promise<{ text: string } | null | 'link'> {
  let handle;
  try {
    handle = await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EISDIR') return 'link';
    throw err;
  }
  try {
    if (!(await handle.stat()).isFile()) return 'link';
    const text = gitignoreWith(await handle.readFile('utf8'));
    if (text !== null) {
      await handle.truncate(0);
      await handle.write(text, 0);
    }
    return text === null ? null : { text };
  } finally {
    await handle.close();
  }
}

/**
 * `mkdir -p` of the function's folder, one level at a time from the nearest existing one, so a
 * place that cannot hold it is said so: a file in the way, no permission, or a pseudo-filesystem
 * (`mkdir(…, {recursive: true})` under /proc loops forever on its ENOENT).
 */
async function makeFolder(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    const info = (() => { try { return statSync(at); } catch { return null; } })();
    if (info !== null) {
      if (!info.isDirectory()) throw usageError(`${at} is a file, not a folder: give init a folder to create the function in (or none: the current one)`);
      break;
    }
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'an error';
      throw new CliError(EXIT.FAILURE, 'FOLDER_NOT_CREATED', `cannot create the folder ${level} (${code}): pick a folder you can write in`, { dir: level });
    }
  }
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const [dirArg] = positionals(args, 1, 'init');
  const dir = resolve(ctx.cwd, dirArg ?? '.');
  const asked = str(args, 'template') ?? 'http';
  const template = ALIASES[asked] ?? asked;
  if (!(TEMPLATES as readonly string[]).includes(template)) {
    // A framework's name (README: Flask, Django, Starlette… are served as they are): no template
    // of its own; `init .` in the app's folder finds the app (new-user round 3).
    const framework = /^(flask|django|starlette|litestar|quart|falcon|asgi|wsgi)$/i.test(asked)
      ? `; an app of your own (${asked} included) needs no template: in its folder, \`fastapi-platform init .\` finds it and writes platform.yaml alone`
      : '';
    throw usageError(`--template must be one of ${TEMPLATES.join(', ')}, got ${JSON.stringify(asked)}${didYouMean(asked, TEMPLATES)}${framework}`);
  }
  const ci = str(args, 'ci');
  if (ci !== undefined && CI_TEMPLATES[ci] === undefined) throw usageError(`--ci must be one of ${Object.keys(CI_TEMPLATES).join(', ')}, got ${JSON.stringify(ci)}`);
  const requested = str(args, 'name');
  const name = requested ?? nameFromFolder(basename(dir));
  if (name === null) throw usageError(`cannot make a function name from the folder name ${JSON.stringify(basename(dir))}; pass --name`);
  if (!FUNCTION_NAME.test(name)) {
    throw usageError(`--name ${JSON.stringify(name)} is not a valid function name: 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen`);
  }

  // Inside another function's folder (`init my-fn` run again in `my-fn/`): the outer function's
  // deploy would upload the new one with it, a platform.yaml and all (new-user round 9: it wrote
  // my-fn/my-fn/ without a word).
  const outer = existsSync(join(dir, 'platform.yaml')) ? null : functionFolderOf(dirname(dir));
  if (outer !== null) {
    const at = relative(ctx.cwd, outer);
    const where = at === '' ? 'this folder' : at;
    const fn = functionOfFolder(outer);
    const target = relative(ctx.cwd, dir);
    const beside = relative(ctx.cwd, dirname(outer));
    throw usageError(`${target === '' ? 'this folder' : target} is inside the folder of ${fn !== null ? `function "${fn}"` : 'a function'} (${where}, with its platform.yaml), whose deploy uploads all of it: nothing was written. A new function goes beside it: ${beside === '' ? `\`init ${shellWord(basename(dir))}\` here` : `\`cd ${shellWord(beside)}\` and init there`}; ${fn !== null ? `"${fn}"` : 'that function'} itself needs no init (validate, dev and deploy run in ${where})`);
  }
  // A folder with an app of its own (and no platform.yaml, no --template asked): only the manifest
  // is written, naming that app; the code stays as it is.
  const app = str(args, 'template') === undefined && !existsSync(join(dir, 'platform.yaml')) ? await findApp(dir) : null;
  const project = app !== null ? projectBelow(dir, app.file) : null;
  if (app !== null && project !== null) {
    // FastAPI's full-stack template: `init .` at the repository's root found backend/app/main.py and wrote
    // `entrypoint: backend.app.main:app` there; validate passed, and the deploy read no requirements
    // (backend/requirements.txt is not at the folder's top): its start check failed on `No module named
    // 'sqlmodel'`, and the app's `from app…` imports would find nothing either (apps round 22).
    const at = relative(ctx.cwd, join(dir, project.folder)) || '.';
    throw new CliError(EXIT.USAGE, 'USAGE', `found the ${app.framework} app in ${app.file}, whose project is ${project.folder}/ (its ${project.marker} is there, and its imports start there): a function is deployed from its project's folder, where the platform reads the requirements and puts the code on the import path. Nothing was written; run \`${selfCommandOf({ env: ctx.env, cwd: ctx.cwd })} init ${shellWord(at)}\`, then validate and deploy from ${shellWord(at)}`);
  }
  // sam init's layout (template.yaml beside hello_world/, the code's folder): a template's main.py and
  // platform.yaml beside template.yaml is not what runs (new-user round 12: `init .` wrote them there).
  const codeFolder = app === null && str(args, 'template') === undefined && !existsSync(join(dir, 'platform.yaml')) ? otherPlatform(dir)?.folder : undefined;
  if (codeFolder !== undefined) {
    const at = relative(ctx.cwd, join(dir, codeFolder)) || '.';
    throw new CliError(EXIT.USAGE, 'USAGE', `this is a folder of AWS Lambda (template.yaml) whose code is in ${codeFolder}/ (its CodeUri: the handler and its requirements.txt are there): a function is deployed from its code's folder. Nothing was written; run \`${selfCommandOf({ env: ctx.env, cwd: ctx.cwd })} init ${shellWord(at)}\`, then validate and deploy from ${shellWord(at)}`);
  }
  const files = app !== null ? new Map([['platform.yaml', await manifestFor(app, name)]]) : await renderTemplate(template, name, ci);
  if (app !== null && ci !== undefined) files.set(CI_TEMPLATES[ci]!.path, (await readFile(CI_TEMPLATES[ci]!.source, 'utf8')).replaceAll('{{name}}', name));
  const existing = [...files.keys()].filter((f) => existsSync(join(dir, f)));
  const links = [...new Set([...files.keys()].map((f) => linkOnTheWay(dir, f)).filter((l) => l !== null))];
  if (links.length > 0) {
    throw new CliError(EXIT.FAILURE, 'FILES_EXIST', `${links.map((l) => join(dir, l)).join(', ')} ${links.length === 1 ? 'is a link' : 'are links'} where init writes (a link may lead out of the folder); nothing was written (init never writes through a link): remove ${links.length === 1 ? 'it' : 'them'}, or run init in another folder`, { files: links, links });
  }
  if (existing.length > 0) {
    const hint = existsSync(join(dir, 'platform.yaml')) ? '' : ': a folder with code of its own needs only a platform.yaml (`kind: function`, `name`, `entrypoint: module:app`; docs/cli.md, "init")';
    throw new CliError(EXIT.FAILURE, 'FILES_EXIST', `${existing.map((f) => join(dir, f)).join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written (init never overwrites)${hint}`, { files: existing });
  }
  await makeFolder(dir);
  // `wx`: fail rather than overwrite if a file appeared since the check above.
  for (const [file, content] of files) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), content, { flag: 'wx' });
  }
  const ignored = await addToGitignore(join(dir, '.gitignore'));
  if (ignored !== null && ignored !== 'link') files.set('.gitignore', ignored.text);

  const shown = relative(ctx.cwd, dir) || '.';
  ctx.out.data({ ok: true, dir, name, template: app !== null ? null : template, files: [...files.keys()], ...(app !== null ? { app } : {}) });
  if (app !== null) ctx.out.line(`Found ${app.framework === 'handler' ? `the handler \`${app.entrypoint.split(':')[1]}(event, context)\`` : `the ${app.framework} app \`${app.entrypoint.split(':')[1]}\``} in ${app.file}; created function "${name}" in ${shown} (your files are left as they are):`);
  else ctx.out.line(`Created function "${name}" (${template} template) in ${shown}:`);
  if (requested === undefined && name !== basename(dir)) {
    // `init My_Fn` named the function my-fn: said, since a deploy from here replaces whatever is already called so.
    ctx.out.note(`the function is named "${name}", not ${JSON.stringify(basename(dir))}: a name is lowercase letters, digits and hyphens (--name NAME picks another; it is platform.yaml's name)`);
  }
  for (const file of files.keys()) ctx.out.line(`  ${file}`);
  if (ignored === 'link') ctx.out.note(`.gitignore is a link (it may lead out of the folder) or not a file: left as it is; make sure it ignores ${IGNORED.join(', ')}`);
  ctx.out.line();
  ctx.out.line('Next:');
  if (shown !== '.') ctx.out.line(`  cd ${shellWord(shown)}`);
  const fp = selfCommandOf({ env: ctx.env, cwd: dir }); // where the user runs them: after `cd`
  ctx.out.line(`  ${fp} validate`);
  // The inner loop README's session shows: a platform of its own, no `up` needed (new-user round 6:
  // "Next:" went from validate to deploy, which needs a running platform, and never named dev).
  ctx.out.line(`  ${fp} dev                 # run it here on a platform of its own: reloads on every save, shows each call (Ctrl-C stops)`);
  ctx.out.line(`  ${fp} deploy${DEPLOY_FLAGS[template] ?? ''}`);
  if (app === null) {
    ctx.out.line(`  ${fp} invoke ${name}${INVOKE_FLAGS[template] ?? ''} --file payload.json`);
    ctx.out.line(`  python -m pytest            # the tests next to the code (pip install ${TEST_PACKAGES[template] ?? 'pytest'})`);
  }
  if (ci !== undefined) ctx.out.line(`  CI: set the secrets FP_URL and FP_TOKEN (a deployer token) and the variable FASTAPI_PLATFORM_REPO (this platform's git URL: the workflow builds the CLI from it) in your repository; ${CI_TEMPLATES[ci]!.path} deploys on every push to main`);
  return EXIT.OK;
}

/**
 * How each template is deployed: a webhook receiver with its invoke token, or its public `/async/`
 * route takes anyone's unsigned call as a delivery (the template's docstring said so; its "Next:"
 * did not, and a forged push ran).
 */
const DEPLOY_FLAGS: Record<string, string> = { webhook: ' --auth token' };

/**
 * What each template's tests import besides pytest (as its test file's docstring and the CI
 * workflow install them): the fastapi one's TestClient needs FastAPI and httpx, and `pip install
 * pytest` alone ended in `ModuleNotFoundError: No module named 'fastapi'`.
 */
const TEST_PACKAGES: Record<string, string> = { fastapi: 'pytest "fastapi[standard]"' };

/** How each template's sample is best invoked. */
const INVOKE_FLAGS: Record<string, string> = { fastapi: ' --path /greet', webhook: ' --async --wait', cron: ' --async --wait', worker: ' --async --wait' };

export const initCommand: Command = {
  name: 'init',
  summary: 'scaffold a function: code, platform.yaml, a sample payload.json and local tests',
  usage: 'init [dir] [--name NAME] [--template http|webhook|cron|fastapi|worker|mongo] [--ci github]',
  examples: [
    'init my-fn',
    'init hooks --template webhook',
    'init api --template fastapi --ci github',
  ],
  details: [
    'dir defaults to the current folder (created if missing); the name defaults to the folder name. Existing files are',
    'never overwritten: if any would be, nothing is written and the exit code is 1. Every template comes with tests',
    '(`python -m pytest`) and a conftest.py that builds events like the platform does; .gitignore gets .env (never',
    'commit the values `env pull` writes there). In a folder that already has an app (`app = FastAPI()`, Flask,',
    'Starlette, Quart, Litestar at module level), or only a handler(event, context) at its top (lambda_handler too), and',
    'no platform.yaml, init without --template writes only platform.yaml, with that app or handler as its entrypoint.',
  ].join('\n'),
  options: {
    name: { type: 'string', value: 'NAME', description: 'function name (a DNS label; default: from the folder name)' },
    template: { type: 'string', value: 'T', description: 'http (handler(event, context), the default), webhook (signed deliveries, GitHub style), cron (a schedule), fastapi (an ASGI app), worker (async runs), mongo (a handler with a Mongo database as context.db)' },
    ci: { type: 'string', value: 'CI', description: 'also write a CI workflow that validates and deploys on push to main (github)' },
  },
  run,
};
