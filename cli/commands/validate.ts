/** `validate [dir]`: the preflight, with every problem listed; exit 3 when there is any. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { positionals, type ParsedArgs } from '../args.js';
import type { Command, Context } from '../context.js';
import { EXIT } from '../errors.js';
import { notAFolder } from '../folder-arg.js';
import { documentError } from '../json-document.js';
import { BUNDLE_LIMITS } from '../files.js';
import { formatBytes } from '../output.js';
import { formatProblem, preflight, type Preflight, type PreflightOptions } from '../preflight.js';
import { pythonPath } from '../python.js';
import { selfCommandOf } from '../self-command.js';
import { DEFAULT_LIMIT_CEILINGS } from '../../protocol/index.js';

/** Runs the preflight on `dir` and prints its findings (human form). Used by deploy too. */
export async function checkFolder(ctx: Context, dir: string, options: PreflightOptions = {}, command: 'validate' | 'deploy' = 'validate'): Promise<Preflight> {
  const info = await stat(dir).catch(() => null);
  if (info === null || !info.isDirectory()) throw notAFolder(command, dir, dir, ctx.cwd);
  const result = await preflight(dir, pythonPath(ctx.env.python), ctx.env.manifestEnv, { selfCommand: selfCommandOf({ env: ctx.env, cwd: dir }), ...(ctx.python !== undefined ? { runPython: ctx.python } : {}), ...options });
  for (const w of result.warnings) ctx.out.note(`warning: ${formatProblem(w)}`);
  if (!ctx.out.json) for (const p of result.problems) ctx.io.stderr(`error: ${formatProblem(p)}\n`);
  return result;
}

/** The JSON form of a preflight (also what `deploy --json` reports when it stops there). */
export function preflightJson(result: Preflight): Record<string, unknown> {
  return {
    ok: result.ok,
    dir: result.dir,
    problems: result.problems,
    warnings: result.warnings,
    function: result.manifest?.name ?? null,
    entrypoint: result.python?.entrypoint ?? null,
    files: result.files.length,
    totalBytes: result.totalBytes,
    python: result.python?.version ?? null,
    dependencies: result.dependencies.map((d) => ({ name: d.name, requirement: d.requirement, file: d.file, line: d.line })),
  };
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const [dirArg] = positionals(args, 1, 'validate');
  // The platform's default ceilings (memory 4Gi, timeout 1h, 50 instances): deploy is refused past them
  // with the same words. A platform started with higher FP_MAX_FUNCTION_* takes more (docs/cli.md).
  const result = await checkFolder(ctx, resolve(ctx.cwd, dirArg ?? '.'), { ceilings: DEFAULT_LIMIT_CEILINGS });
  const n = result.problems.length;
  const found = `${n} problem${n === 1 ? '' : 's'} found`;
  ctx.out.data({ ...preflightJson(result), ...(result.ok ? {} : { error: documentError('VALIDATION_FAILED', found, EXIT.INVALID) }) });
  if (!result.ok) {
    ctx.out.line(`${found}; fix ${n === 1 ? 'it' : 'them'} before deploying.`);
    return EXIT.INVALID;
  }
  const m = result.manifest!;
  const entry = result.python!.entrypoint;
  const contract = entry.kind === 'handler'
    ? `handler(event, context)${entry.async ? ', async' : ''}`
    : entry.kind === 'asgi' ? 'ASGI app function' : entry.kind === 'wsgi' ? 'WSGI app function (environ, start_response)' : entry.kind === 'assignment' ? 'an object (an ASGI app such as FastAPI(), or a WSGI app such as Flask())'
      : entry.kind === 'factory' ? 'an app factory, called once at each instance\'s start' : entry.kind ?? 'unknown';
  ctx.out.line(`ok  platform.yaml: function "${m.name}", runtime ${m.runtime}, invocation ${m.invocation}`);
  ctx.out.line(`ok  entrypoint ${m.entrypoint}: ${contract} at ${entry.file}${entry.line ? `:${entry.line}` : ''}`);
  ctx.out.line(`ok  Python ${result.python!.version}: ${result.python!.checked} module${result.python!.checked === 1 ? ' compiles' : 's compile'}`);
  const deps = result.dependencies;
  if (deps.length > 0) {
    const from = [...new Set(deps.map((d) => d.file))].join(', ');
    ctx.out.line(`ok  dependencies: ${deps.length} declared in ${from} (installed by the platform at deploy): ${deps.map((d) => d.name).join(', ')}`);
  }
  ctx.out.line(`ok  ${result.files.length} file${result.files.length === 1 ? '' : 's'}, ${formatBytes(result.totalBytes)} (limits: ${BUNDLE_LIMITS.maxFiles} files, 50 MiB in all, 10 MiB a file)`);
  ctx.out.line('valid: ready to deploy');
  return EXIT.OK;
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a function folder before uploading anything',
  usage: 'validate [dir]',
  examples: [
    'validate',
    'validate ./my-fn',
  ],
  details: [
    'Checks, without contacting the platform: platform.yaml against the manifest schema (each problem',
    'with its key path and line), Python syntax of every .py file with the runtime\'s own compiler',
    '(file and line), that the entrypoint exists at module level with the right signature, and the',
    'file count and size limits (1000 files, 50 MiB in all, 10 MiB a file), and limits past the',
    'platform\'s default ceilings (memory 4Gi, timeout 1h, maxInstances 50: FP_MAX_FUNCTION_*). Skipped: dotfiles,',
    '__pycache__, *.pyc, node_modules, and whatever .platformignore lists. Exit 3 when invalid.',
    'Declared dependencies (requirements.txt, pyproject.toml [project] dependencies) are checked',
    '(options, URLs and paths are refused), and a third-party import of the entrypoint\'s module, or of',
    'a module of the folder it imports, that neither they nor the runtime provide is a warning.',
  ].join('\n'),
  options: {},
  run,
};
