/**
 * A folder without platform.yaml that another platform deploys (apps round 21): `validate` and
 * `deploy` said "this is not a function folder … create one here with `init .`", and `init .` writes
 * a new main.py and `entrypoint: main:handler` beside the code, which is not what runs. Said instead:
 * which platform's folder it is (by its config file), and the platform.yaml to add, with the
 * entrypoint read from that config where it names one (docs/migrating.md).
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isWithin } from './small-file.js';

/** What the folder's config says, or null when it is no other platform's. */
export interface OtherPlatform {
  /** `Vercel (vercel.json)`, `AWS Lambda (template.yaml)`, … */
  what: string;
  /** docs/migrating.md's section for it. */
  section: string;
  /** The platform.yaml lines to write beyond `kind` and `name`, or what to do instead. */
  advice: string;
  /** The folder below the one checked that holds the code, where platform.yaml goes (SAM's `CodeUri`), if not that one. */
  folder?: string;
}

const MAX_CONFIG_BYTES = 256 * 1024;

/**
 * A config or source file's first MAX_CONFIG_BYTES, read as the folder may be a hostile clone's (as
 * cli/small-file.ts reads, synchronously): a regular file whose real path is inside `root` (the
 * folder checked), opened without blocking (a FIFO hung the command, /dev/zero was read without end).
 */
function text(dir: string, file: string, root = dir): string | null {
  let fd: number | null = null;
  try {
    const path = join(dir, file);
    if (!existsSync(path) || !isWithin(realpathSync(root), realpathSync(path))) return null;
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return null;
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES);
    const n = readSync(fd, buffer, 0, MAX_CONFIG_BYTES, 0);
    return buffer.subarray(0, n).toString('utf8');
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Lambda's `Handler: src/app.lambda_handler` → `src.app:lambda_handler`. */
function lambdaEntrypoint(config: string): string | null {
  const m = /^\s*[Hh]andler:\s*["']?([\w./-]+)\.(\w+)["']?\s*$/m.exec(config);
  return m ? `${m[1]!.replace(/^\.\//, '').replace(/\//g, '.')}:${m[2]}` : null;
}

/**
 * SAM's `CodeUri: hello_world/` (sam init's layout: the code and its requirements.txt there, not
 * beside template.yaml), when all the template's functions share one that is a folder of `dir`;
 * else null (new-user round 12: told to add `entrypoint: app:lambda_handler` beside template.yaml,
 * where no app.py is).
 */
function samCodeFolder(dir: string, config: string): string | null {
  const uris = [...config.matchAll(/^\s*CodeUri:\s*["']?\.?\/?([\w.-]+(?:\/[\w.-]+)*?)\/?["']?\s*$/gm)].map((m) => m[1]!);
  if (uris.length === 0 || new Set(uris).size !== 1 || uris[0] === '.' || uris[0]!.split('/').includes('..')) return null;
  return existsSync(join(dir, uris[0]!)) ? uris[0]! : null;
}

/** Lambda's `Timeout: 15` and `MemorySize: 512` (seconds, MB; SAM's or Serverless's) as `limits:`, or ''. */
function lambdaLimits(config: string): string {
  const timeout = /^\s*[Tt]imeout:\s*(\d+)\s*$/m.exec(config)?.[1];
  const memory = /^\s*[Mm]emory[Ss]ize:\s*(\d+)\s*$/m.exec(config)?.[1];
  const parts = [...(timeout !== undefined ? [`timeout: ${timeout}s`] : []), ...(memory !== undefined ? [`memory: ${memory}Mi`] : [])];
  return parts.length === 0 ? '' : `, limits: {${parts.join(', ')}} (its Timeout and MemorySize, with their units)`;
}

/** Vercel's api/index.py (or the only api/*.py): `class handler(` or a module-level `app =`. */
function vercelEntrypoint(dir: string): string | null {
  let files: string[] = [];
  try {
    files = readdirSync(join(dir, 'api')).filter((f) => f.endsWith('.py'));
  } catch {
    return null;
  }
  const file = files.includes('index.py') ? 'index.py' : files.length === 1 ? files[0]! : null;
  const source = file ? text(join(dir, 'api'), file, dir) : null;
  if (source === null || file === null) return null;
  const module = `api.${basename(file, '.py')}`;
  if (/^class handler\b/m.test(source)) return `${module}:handler`;
  if (/^app\s*[:=]/m.test(source)) return `${module}:app`;
  return null;
}

function entry(entrypoint: string | null, fallback: string, extra = ''): string {
  return entrypoint ? `entrypoint: ${entrypoint}${extra}` : `${fallback}${extra}`;
}

/** The other platform whose config `dir` holds, or null. */
export function otherPlatform(dir: string): OtherPlatform | null {
  if (existsSync(join(dir, 'vercel.json'))) {
    return { what: 'Vercel (vercel.json)', section: 'Vercel (Python runtime)', advice: entry(vercelEntrypoint(dir), 'entrypoint: api.index:app (an app) or api.index:handler (a BaseHTTPRequestHandler class)') };
  }
  for (const file of ['template.yaml', 'template.yml', 'serverless.yml', 'serverless.yaml']) {
    const config = text(dir, file);
    if (config === null || (file.startsWith('template') && !/AWS::Serverless|AWS::Lambda/.test(config))) continue;
    const folder = file.startsWith('template') ? samCodeFolder(dir, config) : null;
    return { what: `AWS Lambda (${file})`, section: 'AWS Lambda (API Gateway, function URLs)', advice: entry(lambdaEntrypoint(config), 'entrypoint: <module>:<function> (Lambda\'s Handler module.function)', ` and event: lambda${lambdaLimits(config)}`), ...(folder !== null ? { folder } : {}) };
  }
  for (const file of ['stack.yml', 'stack.yaml']) {
    const config = text(dir, file);
    if (config === null || !/^\s*lang:/m.test(config)) continue;
    const folder = /^\s*handler:\s*["']?\.?\/?([\w./-]+?)\/?["']?\s*$/m.exec(config)?.[1];
    return { what: `OpenFaaS (${file})`, section: 'OpenFaaS (`python3-http`, `python3`, `python3-flask`)', advice: `entrypoint: handler:handle, in the function's handler folder${folder ? ` (${folder})` : ''}` };
  }
  if (existsSync(join(dir, 'specs', 'fission-deployment-config.yaml'))) {
    return { what: 'Fission (specs/)', section: 'Fission (Python environment)', advice: 'entrypoint: app:app, with main() served from a Flask app' };
  }
  for (const file of ['manifest.yaml', 'manifest.yml']) {
    const config = text(dir, file);
    if (config === null || !/^\s*packages:/m.test(config) || !/^\s*actions:/m.test(config)) continue;
    return { what: `Apache OpenWhisk (${file})`, section: 'Apache OpenWhisk (Python actions, web actions)', advice: 'entrypoint: <module>:main, with main(args) made main(event, context)' };
  }
  return codeOnly(dir);
}

/**
 * A folder of code alone, as the evaluator of new-user round 7 brought it: a Lambda function as the
 * console's download has it (`lambda_function.py`, no template), OpenFaaS's `handler.py`, an app
 * run by `uvicorn main:app`. Told `init .` (a new main.py beside the code) before.
 */
function codeOnly(dir: string): OtherPlatform | null {
  const lambda = text(dir, 'lambda_function.py');
  if (lambda !== null && /^(?:async\s+)?def lambda_handler\s*\(/m.test(lambda)) {
    return { what: 'AWS Lambda (lambda_function.py)', section: 'AWS Lambda (API Gateway, function URLs)', advice: 'entrypoint: lambda_function:lambda_handler and event: lambda' };
  }
  const handler = text(dir, 'handler.py');
  if (handler !== null && /^def handle\s*\(/m.test(handler)) {
    const classic = /^def handle\s*\(\s*\w+\s*\)/m.test(handler);
    return { what: 'OpenFaaS (handler.py)', section: 'OpenFaaS (`python3-http`, `python3`, `python3-flask`)', advice: `entrypoint: handler:handle${classic ? ', with handle(req) made handle(event, context) and event.text() as req' : ''}` };
  }
  // At the top (`uvicorn main:app`), else in a package folder, as FastAPI's "Bigger Applications"
  // lays it out (`app/main.py`, run as `uvicorn app.main:app`; new-user round 11: such a folder was
  // told `init .`, which writes a main.py beside the package), or a src layout's (`src/shop/api.py`).
  for (const pkg of ['', ...packageFolders(dir)]) {
    for (const file of ['main.py', 'app.py', 'api.py', 'server.py', 'asgi.py']) {
      const source = text(join(dir, pkg), file, dir) ?? '';
      // `app = FastAPI(…)` at module level, or a factory (`uvicorn --factory main:create_app`) that makes one.
      const app = /^(\w+)\s*(?::[^=\n]*)?=\s*(?:fastapi\.)?FastAPI\s*\(/m.exec(source)?.[1];
      const factory = app === undefined && /\bFastAPI\s*\(/.test(source) ? /^def ((?:create|make|get|build)_app)\s*\(/m.exec(source)?.[1] : undefined;
      const attr = app ?? (factory === undefined ? undefined : `${factory}()`);
      // src/shop/api.py is imported as shop.api, as `uvicorn --app-dir src` does (and so does the runtime).
      const module = [...(pkg.startsWith('src/') ? pkg.slice(4) : pkg).split('/').filter((p) => p !== ''), basename(file, '.py')].join('.');
      if (attr) return { what: `a FastAPI app run by uvicorn (${pkg === '' ? '' : `${pkg}/`}${file})`, section: 'uvicorn or gunicorn (a container, a Procfile, `fastapi run`)', advice: `entrypoint: ${module}:${attr}` };
    }
  }
  return null;
}

/**
 * The folders `uvicorn <pkg>.main:app` could find an app in: the top's (a package, or a namespace
 * package without `__init__.py`, which imports the same), and src layout's packages (`src/shop/`);
 * at most 20 of each, sorted.
 */
function packageFolders(dir: string): string[] {
  const subfolders = (rel: string): string[] => {
    try {
      return readdirSync(join(dir, rel), { withFileTypes: true })
        // A module's name (`my-fn/` is none), not a function folder of its own (its platform.yaml: the
        // folder `init my-fn` was run in, cli/preflight.ts), not tests or a virtual environment.
        .filter((e) => e.isDirectory() && /^[A-Za-z]\w*$/.test(e.name) && !['tests', 'test', 'venv', 'env'].includes(e.name))
        .map((e) => (rel === '' ? e.name : `${rel}/${e.name}`))
        .filter((f) => !existsSync(join(dir, f, 'platform.yaml'))).sort().slice(0, 20);
    } catch {
      return [];
    }
  };
  return [...subfolders('').filter((f) => f !== 'src'), ...subfolders('src')];
}

/** The sentence for a folder without platform.yaml that `other` deploys. */
export function otherPlatformMessage(dir: string, other: OtherPlatform): string {
  const where = other.folder === undefined ? 'here' : `in ${other.folder}/ (its CodeUri: the code and its requirements.txt are there, and validate, dev and deploy run there)`;
  return `not found in ${dir}: this is a folder of ${other.what}; add a platform.yaml ${where} with kind: function, name: <name>, ` +
    `${other.advice} (docs/migrating.md, section ${JSON.stringify(other.section)})`;
}
