/** `deploy [dir]`: validate, then create/update, upload what changed, create and deploy a version. */
import { join, normalize, relative, resolve, sep } from 'node:path';
import { choice, flag, positionals, str, type ParsedArgs } from '../args.js';
import { profileOf, readCredentials, withProfile, writeCredentials } from '../config.js';
import { clientOf, targetOf, type Command, type Context } from '../context.js';
import { contractLines } from '../contract.js';
import { deployFolder, describeSettingChanges, docsLine, planDeploy, sameAsLatest, type DeployPlan, type DeployResult } from '../deploy-flow.js';
import { EXIT, usageError } from '../errors.js';
import { documentError } from '../json-document.js';
import { formatBytes, indent, type Output } from '../output.js';
import type { ApiClient, ApiDeps, ApiFunction } from '../client.js';
import { DEFAULT_WORKSPACE, envSets, formatDurationMs, formatMemoryBytes, functionKey } from '../../protocol/index.js';
import { checkFolder, preflightJson } from './validate.js';
import { selfCommandOf, shellWord } from '../self-command.js';
import { startFailure, startLine } from '../start-check.js';
import { terminalSafe } from '../terminal.js';
import { DOTENV_FILE, otherDotenvFiles, readDotenv } from '../dotenv.js';
import { previewDeploy } from '../deploy-preview.js';
import { formatProblem, preflight, unsaidWarnings, type Preflight } from '../preflight.js';
import { pythonPath } from '../python.js';

/** A curl line for the function's URL (with the invoke token header for a token function); a JSON POST for the async URL. */
export function curlLine(invokeUrl: string, auth: 'public' | 'token', method?: 'POST'): string {
  const header = auth === 'token' ? " -H 'authorization: Bearer <invoke token>'" : '';
  const body = method === 'POST' ? " -X POST -H 'content-type: application/json' -d '{}'" : '';
  return `curl -s${header}${body} '${invokeUrl}'`;
}

/** `http, sync, timeout 10s, memory 128Mi, public`. */
export function describeSettings(fn: Pick<ApiFunction, 'limits' | 'preset' | 'invocation' | 'auth'>): string {
  const { timeoutMs, memoryBytes } = fn.limits;
  const limits = [
    timeoutMs !== undefined ? `timeout ${formatDurationMs(timeoutMs)}` : null,
    memoryBytes !== undefined ? `memory ${formatMemoryBytes(memoryBytes)}` : null,
  ].filter((x) => x !== null);
  return [fn.preset, fn.invocation, ...limits, `auth ${fn.auth}`].join(', ');
}

/** `<base>/hooks/<key>/<id>` from the function's invoke URL (`<base>/fn/<key>/`). */
export function webhookUrl(invokeUrl: string, id: string): string {
  return `${invokeUrl.replace(/\/fn\/([^/]+)\/?$/, '/hooks/$1/')}${id}`;
}

/** Prints what a deploy did (text mode); `fp` is the CLI as the user can run it (ADR 0040); `docs`: a FastAPI app's docs path. */
export function printDeploy(out: Output, r: DeployResult, fp = 'fastapi-platform', docs?: string): void {
  out.line(r.created ? `Created function "${r.function}" (${describeSettings(r.settings)}).` : `Function "${r.function}": ${r.settingsChanged.length > 0 ? `settings updated (${describeSettingChanges(r.settingChanges)})` : 'settings unchanged'}.`);
  // Plain env comes from platform.yaml at each deploy: a value set since (env push, env set) is gone now.
  const lost = r.settingChanges.removed.filter((p) => p.startsWith('env.')).map((p) => p.slice('env.'.length));
  // A folder from elsewhere (a clone, a pull request in CI) can name any variable of this shell:
  // say which values came from it, so a `${AWS_SECRET_ACCESS_KEY}` does not go unseen (red team 3).
  const refs = (names: string[]) => names.map((n) => `\${${n}}`).join(' ');
  const taken = r.envFromEnvironment.filter((e) => e.unset.length < e.from.length);
  if (taken.length > 0) {
    out.note(`env ${taken.map((e) => `${e.key} ← ${refs(e.from.filter((n) => !e.unset.includes(n)))}`).join(', ')}: taken from this shell's environment (platform.yaml's env); check them before deploying a folder you did not write.`);
  }
  // A variable this shell does not set took its `:-default`: deployed from a shell that sets it
  // (CI, another terminal) the value differs, and a redeploy from here changes it back unannounced.
  for (const e of r.envFromEnvironment.filter((x) => x.unset.length > 0)) {
    const what = e.default !== undefined ? `its default ${JSON.stringify(e.default)} was used` : 'its default was used for it';
    out.note(`env ${e.key} ← ${refs(e.unset)}: not set in this shell, so ${what} (export it before deploying to set the value).`);
  }
  if (lost.length > 0) out.note(`Removed env ${lost.join(', ')}: not in platform.yaml's env (a value set by \`env push\` or \`env set\` lasts until the next deploy). Keep ${lost.length === 1 ? 'it' : 'them'} in platform.yaml, push ${lost.length === 1 ? 'it' : 'them'} again, or make ${lost.length === 1 ? 'it a secret' : 'them secrets'} (deploys leave secrets alone).`);
  if (r.unchanged) {
    out.line(`No code changes: version ${r.version} is already deployed (use --force to deploy a new version anyway).`);
  } else {
    const { added, modified, removed } = r.changes;
    const against = r.previousVersion === null ? '' : ` since version ${r.previousVersion}`;
    out.line(`Changes${against}: ${added.length} added, ${modified.length} modified, ${removed.length} removed`);
    for (const p of added) out.line(`  + ${p}`);
    for (const p of modified) out.line(`  ~ ${p}`);
    for (const p of removed) out.line(`  - ${p}`);
    const rest = r.uploaded < r.files ? '; the others were already stored' : '';
    out.line(`Uploaded ${r.uploaded} of ${r.files} files (${formatBytes(r.uploadedBytes)})${rest}.`);
    if (r.deps !== null) {
      const names = r.deps.packages.map((p) => `${p.name}==${p.version}`);
      out.line(`Dependencies: ${names.length === 0 ? 'none to install' : `${names.length} installed (${formatBytes(r.deps.bytes)}): ${names.join(', ')}`}.`);
    }
    out.line(`Version ${r.version} deployed${r.previousVersion === null ? '' : ` (was ${r.previousVersion})`}.`);
    if (r.start !== undefined) out.line(startLine(r.start));
    if (r.pruned !== undefined) out.line(`Deleted older version${r.pruned.length === 1 ? '' : 's'} ${r.pruned.join(', ')} (the platform keeps the last FP_KEEP_VERSIONS; \`${fp} versions ${r.function}\` lists those kept).`);
  }
  // A deploy does not resume a paused function: said, or the next call's 503 is a surprise.
  if (r.settings.status === 'paused') out.note(`note: ${r.function} is paused: its calls answer 503 FUNCTION_PAUSED until \`${fp} functions resume ${r.function}\`.`);
  out.line();
  if (r.settings.invocation !== 'async') {
    out.line(`URL:   ${r.invokeUrl}`);
    if (r.hostUrl !== undefined) out.line(`Host:  ${r.hostUrl}  (at / of its own host, as under uvicorn: root-relative links and redirects work)`);
    out.line(`curl:  ${curlLine(r.invokeUrl, r.auth)}`);
    const docsAt = docsLine(r.invokeUrl, { auth: r.auth, invocation: r.settings.invocation }, docs);
    if (docsAt !== null) out.line(docsAt);
  }
  if (r.asyncUrl !== undefined) {
    out.line(`Async: ${r.asyncUrl}  (POST → 202 {runId}; retried, see \`${fp} runs <runId>\`)`);
    out.line(`curl:  ${curlLine(r.asyncUrl, r.auth, 'POST')}`);
  }
  // A webhook's sender needs its URL and signing secret; neither was said anywhere after a deploy.
  for (const id of r.webhooks ?? []) {
    out.line(`Webhook: ${webhookUrl(r.invokeUrl, id)}  (signed deliveries only; its secret: ${fp} triggers rotate-secret ${r.function} ${id}, docs/triggers.md)`);
  }
  // A schedule was said nowhere after a deploy: where its ticks go is the first thing to look for.
  for (const c of r.crons ?? []) {
    out.line(`Cron:  ${c.id}  ${c.schedule} (${c.timezone}); each tick is an async run: ${fp} runs ${r.function}  (next ticks: ${fp} triggers ${r.function})`);
  }
  if (r.contract !== undefined) {
    out.line();
    for (const line of contractLines(r.contract)) out.line(line);
  }
  if (r.invokeToken) {
    out.line();
    out.line(`Invoke token (shown once; saved to the credentials file for \`${fp} invoke\`):`);
    out.line(`  ${r.invokeToken}`);
    // ADR 0074: issued by a token with an expiry, it ends with it.
    if (r.invokeTokenExpiresAt !== undefined) out.line(`It ends at ${new Date(r.invokeTokenExpiresAt).toISOString()}, with the token this deploy used; \`${fp} functions rotate-token ${r.function}\` with a token without an expiry gives one that does not end.`);
  }
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const [dirArg] = positionals(args, 1, 'deploy');
  const dir = resolve(ctx.cwd, dirArg ?? '.');
  const auth = choice(args, 'auth', ['public', 'token']);
  if (flag(args, 'dry-run') && flag(args, 'force')) throw usageError('--dry-run changes nothing: it goes without --force');
  const client = await clientOf(ctx, args);
  // What the deploy reads (nothing that changes anything) goes while the Python check runs.
  let plan: Promise<DeployPlan> | null = null;
  const checked = await checkFolder(ctx, dir, {
    holdImports: true,
    onRead: ({ manifest, files }) => {
      if (manifest === null) return;
      plan = planDeploy(client, dir, manifest.name, files);
      plan.catch(() => undefined); // reported below when the folder is valid, else not needed
    },
  }, 'deploy');
  if (!checked.ok) {
    const n = checked.problems.length;
    // validate's document, with the `error` every failing command's --json has (docs/cli.md).
    ctx.out.data({ ...preflightJson(checked), error: documentError('VALIDATION_FAILED', `${n} problem${n === 1 ? '' : 's'} found; nothing was uploaded`, EXIT.INVALID) });
    ctx.out.line(`${n} problem${n === 1 ? '' : 's'} found; nothing was uploaded.`);
    return EXIT.INVALID;
  }
  if (flag(args, 'dry-run')) {
    await sayHeldImports(ctx, checked, null);
    const known = plan === null ? null : await (plan as Promise<DeployPlan>).catch(() => null);
    sayHeldEnv(ctx, checked, known?.existing?.function.secrets ?? []);
    return dryRun(ctx, client, checked, plan === null ? await planDeploy(client, dir, checked.manifest!.name, checked.files) : await plan);
  }
  const note = str(args, 'message');
  // The build log holds the folder's own text (a requirement's marker, a build script's output): escaped like a function's logs.
  const deps = { progress: (line: string) => ctx.out.note(line), log: (text: string) => ctx.out.note(`dependency build log (last lines):\n${indent(text.split('\n').map((l) => terminalSafe(l)).join('\n'))}`) };
  const check = !flag(args, 'no-check');
  const result = await deployFolder(client, checked, { ...(auth ? { auth } : {}), ...(note !== undefined ? { note } : {}), force: flag(args, 'force'), deps, check }, plan === null ? undefined : await plan)
    .catch((err: unknown) => {
      const again = `${selfCommandOf(ctx)} deploy${dirArg !== undefined ? ` ${shellWord(dirArg)}` : ''} --no-check`;
      throw startFailure(ctx.out, err, `Fix it and deploy again (\`${again}\` deploys it without this check: its first call then fails the same way).`, selfCommandOf(ctx));
    });
  await sayHeldImports(ctx, checked, result.deps);
  sayHeldEnv(ctx, checked, [...Object.keys(result.settings.env), ...(result.settings.secrets ?? [])]);
  // The platform checks the upload too (the rule of POST /validate): what the preflight above did not say.
  for (const w of unsaidWarnings(result.platformWarnings, checked)) ctx.out.note(`warning: ${formatProblem(w)}`);
  if (result.invokeToken) await saveInvokeToken(ctx, args, functionKey(result.function, result.settings.workspace ?? DEFAULT_WORKSPACE), result.invokeToken);
  ctx.out.data({
    ok: true, ...result, curl: curlLine(result.invokeUrl, result.auth), ...(result.asyncUrl !== undefined ? { asyncCurl: curlLine(result.asyncUrl, result.auth, 'POST') } : {}),
    ...(result.webhooks !== undefined ? { webhookUrls: result.webhooks.map((id) => webhookUrl(result.invokeUrl, id)) } : {}),
  });
  printDeploy(ctx.out, result, selfCommandOf(ctx), checked.python?.entrypoint.docs);
  await noteDotenv(ctx, dir, result, checked.envFiles);
  return EXIT.OK;
}

/**
 * The import warnings held until the dependency build (cli/preflight.ts `holdImports`): checked
 * again against every package the build's lock installed (the declared ones' own dependencies
 * too), and said only when still missing there; without a build (none made, a dry run), said as
 * they were. `deploy` said that pyrate_limiter, which fastapi-limiter brings, was undeclared (dx round 4).
 */
async function sayHeldImports(ctx: Context, checked: Preflight, deps: ApiDeps | null): Promise<void> {
  if (checked.heldImports.length === 0) return;
  let held = checked.heldImports;
  if (deps !== null && deps.state === 'ready') {
    // `name:module:…` when the platform says what the package ships (validate.py `--installed`).
    const installed = deps.packages.map((p) => (p.modules !== undefined ? [p.name, ...p.modules].join(':') : p.name));
    held = await preflight(checked.dir, pythonPath(ctx.env.python), ctx.env.manifestEnv, { ...(ctx.python !== undefined ? { runPython: ctx.python } : {}), holdImports: true, installed })
      .then((again) => again.heldImports, () => held);
  }
  for (const w of held) ctx.out.note(`warning: ${formatProblem(w)}`);
}

/**
 * The warnings a variable of the function's env answers (validate.py `needs: env`: a pydantic-settings
 * key whose default is made at import), said when the deployed function has it neither in its env nor
 * as a secret (`env set --secret` is where such a key belongs, and platform.yaml cannot say it).
 * `names`: the function's env and secrets after the deploy (a dry run: platform.yaml's env, already
 * left out, and the secrets it has now).
 */
function sayHeldEnv(ctx: Context, checked: Preflight, names: readonly string[]): void {
  for (const w of checked.heldEnv) if (!envSets(names, w)) ctx.out.note(`warning: ${formatProblem(w)}`);
}

/** `deploy --dry-run`: what the deploy would change (cli/deploy-preview.ts), nothing done. */
async function dryRun(ctx: Context, client: ApiClient, checked: Preflight, plan: DeployPlan): Promise<number> {
  const p = previewDeploy(checked, plan);
  // After a rollback the folder may hold the newest version, which the deploy makes active again
  // rather than a new one (deploy-flow.ts sameAsLatest): said so (the dry run said "a new version").
  const again = p.created || p.unchanged ? null : await sameAsLatest(client, p.function, p.activeVersion, checked.manifest!.entrypoint, checked.rawManifest, plan.files);
  ctx.out.data({ ok: true, dryRun: true, ...p, redeploys: again?.version ?? null });
  const { added, modified, removed } = p.changes;
  ctx.out.line(p.created ? `Would create function "${p.function}" and deploy version 1.`
    : p.unchanged ? `No code changes: version ${p.activeVersion} of "${p.function}" is deployed (a deploy would only apply platform.yaml's settings).`
      : again !== null ? `Would deploy version ${again.version} of "${p.function}" again (it holds this folder; active now: ${p.activeVersion ?? 'none'}): no new version.`
        : `Would deploy a new version of "${p.function}" (active now: ${p.activeVersion ?? 'none'}).`);
  if (!p.unchanged) {
    ctx.out.line(`Changes${p.activeVersion === null ? '' : ` since version ${p.activeVersion}`}: ${added.length} added, ${modified.length} modified, ${removed.length} removed`);
    for (const f of added) ctx.out.line(`  + ${f}`);
    for (const f of modified) ctx.out.line(`  ~ ${f}`);
    for (const f of removed) ctx.out.line(`  - ${f}`);
    ctx.out.line(`Would upload ${p.upload.files} file${p.upload.files === 1 ? '' : 's'} (${formatBytes(p.upload.bytes)}); the platform has the rest.`);
  }
  if (p.envAdded.length > 0) ctx.out.line(`Would set env ${p.envAdded.join(', ')} (new in platform.yaml's env).`);
  if (p.envChanged.length > 0) ctx.out.line(`Would set env ${p.envChanged.join(', ')} back to platform.yaml's value (changed since by \`env set\` or \`env push\`; keep a value in platform.yaml, or make it a secret).`);
  if (p.envRemoved.length > 0) ctx.out.line(`Would remove env ${p.envRemoved.join(', ')}: not in platform.yaml's env (set by \`env set\` or \`env push\`); keep ${p.envRemoved.length === 1 ? 'it' : 'them'} there, or make ${p.envRemoved.length === 1 ? 'it a secret' : 'them secrets'}.`);
  ctx.out.note('Dry run: nothing was uploaded or changed.');
  return EXIT.OK;
}

/**
 * A folder's .env is read by `dev` and written by `env pull`, never by `deploy`: after `env pull`,
 * an edit and a deploy, the edit silently was not live (newcomer round 5). Said when the file holds
 * a value the deployed function does not have (secrets cannot be compared: left out).
 */
async function noteDotenv(ctx: Context, dir: string, result: DeployResult, named: readonly string[]): Promise<void> {
  const secrets = result.settings.secrets ?? [];
  const workspace = result.settings.workspace ?? DEFAULT_WORKSPACE;
  const push = `${selfCommandOf(ctx)} env push ${result.function}${workspace === DEFAULT_WORKSPACE ? '' : ` -w ${workspace}`}`;
  // `.env.production` and the like (apps round 11): a pydantic-settings `env_file` tuple read them
  // under uvicorn and found nothing on the platform, and deploy said nothing about them.
  for (const file of [DOTENV_FILE, ...await otherDotenvFiles(dir)]) {
    const local = await readDotenv(dir, file);
    if (!local.present) continue;
    const differ = Object.entries(local.values).filter(([k, v]) => !secrets.includes(k) && result.settings.env[k] !== v).map(([k]) => k);
    if (differ.length === 0) continue;
    if (file === DOTENV_FILE) ctx.out.note(`.env has values the deployed function does not (${differ.join(', ')}): deploy does not read .env (dev does, for local runs); \`${push}\` applies it.`);
    else ctx.out.note(`${file} has values the deployed function does not (${differ.join(', ')}): deploy never uploads .env files, so an app that loads ${file} (pydantic-settings' env_file, load_dotenv) finds none on the platform; \`${push} --file ${file}\` applies it, or put the values in platform.yaml's env.`);
  }
  // A dotenv file the code names outside the folder: FastAPI's full-stack template reads `../.env`,
  // the repository's, one folder above the backend deployed (apps round 22): its SECRET_KEY,
  // FIRST_SUPERUSER_PASSWORD and database settings were on no instance, and deploy said nothing.
  for (const file of new Set(named.map((f) => normalize(f)).filter((f) => f.startsWith(`..${sep}`)))) {
    const local = await readDotenv(dir, file);
    if (!local.present) continue;
    const differ = Object.keys(local.values).filter((k) => !secrets.includes(k) && result.settings.env[k] !== local.values[k]);
    if (differ.length === 0) continue;
    const path = shellWord(relative(ctx.cwd, join(dir, file)));
    ctx.out.note(`${file} has values the deployed function does not (${differ.join(', ')}): the code reads it (env_file, load_dotenv) from outside the folder, which deploy does not upload, so on the platform it finds none; \`${push} --file ${path}\` applies it (\`--as-secret NAME\` for each secret), or put the values in platform.yaml's env.`);
  }
}

/** Saves a function's invoke token (by its key) in the profile this call used. */
export async function saveInvokeToken(ctx: Context, args: ParsedArgs, key: string, token: string): Promise<void> {
  const { target, profileName } = await targetOf(ctx, args);
  const saved = await readCredentials(ctx.env.configDir);
  const profile = profileOf(saved, profileName) ?? { url: target.url, invokeTokens: {} };
  await writeCredentials(ctx.env.configDir, withProfile(saved, profileName, { ...profile, invokeTokens: { ...profile.invokeTokens, [key]: token } }));
}

export const deployCommand: Command = {
  name: 'deploy',
  summary: 'validate, upload what changed, and deploy a new version',
  usage: 'deploy [dir] [--auth public|token] [--message TEXT] [--force | --dry-run] [--no-check]',
  examples: [
    'deploy',
    'deploy ./my-fn --message \'fix the greeting\'',
    'deploy --auth token',
    'deploy --dry-run',
  ],
  details: [
    'Runs `validate` first (exit 3 and nothing uploaded if it fails). Creates the function from',
    'platform.yaml if it does not exist, else updates its settings; hashes every file (sha256),',
    'uploads only contents the platform does not have, creates a version and deploys it.',
    'Prints the files added/modified/removed since the active version, and the URL. A version that',
    'declares dependencies (requirements.txt, pyproject.toml) is deployed once the platform has',
    'installed them; the progress is shown, and a failed build prints the end of its log and exits 4',
    'with its code (DEPS_NOT_FOUND, DEPS_CONFLICT, ...); the active version keeps serving.',
    'Before it serves the version, the platform starts an instance of it: a version whose code does',
    'not load (an import that fails, an error at module level or in a lifespan startup) is refused',
    '(exit 4, DEPLOY_START_FAILED) with what its load printed and its traceback; the active version',
    'keeps serving, and the settings and env this deploy changed are put back. --no-check deploys it',
    'without that check. The same folder deployed again deploys the version the refusal made.',
    'The platform checks the upload as `validate` does: a warning of its that `validate` did not',
    'already print (another Python, the platform\'s own rules) is printed after the deploy.',
  ].join('\n'),
  options: {
    auth: { type: 'string', value: 'MODE', description: 'invoke auth: public (default for a new function) or token' },
    message: { type: 'string', short: 'm', value: 'TEXT', description: 'a note stored with the version (default: the manifest\'s version)' },
    force: { type: 'boolean', description: 'create and deploy a version even if nothing changed' },
    'dry-run': { type: 'boolean', description: 'only show what the deploy would change: files, uploads, env it would add, set back or remove, a version made active again' },
    'no-check': { type: 'boolean', description: 'deploy without starting the version first (a version whose code does not load is deployed anyway)' },
  },
  run,
};
