/**
 * Where the gateway learns which functions exist. `FunctionRegistry` is the port; the control
 * plane provides a store-backed implementation (controlplane/registry/). `DirectoryRegistry`
 * reads a directory of functions: each subfolder `<name>/` holds the code and a `platform.yaml`
 * (schema: protocol/manifest.ts).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ManifestError, parseManifest, PlatformError, type FunctionRegistry, type FunctionVersion, type InvokeAuth, type Manifest, type Resolution, type TokenVerdict } from '../protocol/index.js';

export type { FunctionRegistry, InvokeAuth, Resolution, TokenVerdict };

export const NOT_FOUND: Resolution = Object.freeze({ found: false });

export const MANIFEST_FILE = 'platform.yaml';

/** BAD_FUNCTIONS_DIR: every function that failed to load, each with its problems, in one error. */
export class RegistryError extends PlatformError {
  constructor(readonly problems: { function: string; message: string }[]) {
    super('BAD_FUNCTIONS_DIR', `cannot load functions:\n${problems.map((p) => `[${p.function}] ${p.message}`).join('\n')}`, { problems });
  }
}

export interface DirectoryRegistryOptions {
  /** The platform's environment, for `${VAR}` references in manifests' `env`. */
  platformEnv?: Record<string, string | undefined>;
}

interface Entry {
  fn: FunctionVersion;
  manifest: Manifest;
  resolution: Resolution;
}

/**
 * Functions from a directory, read once by `load()`. A subfolder without platform.yaml, or whose
 * name starts with `.` or `_`, is skipped; any other problem fails the whole load (listed at once),
 * because a half-loaded directory would answer 404 for a function the user believes deployed.
 */
export class DirectoryRegistry implements FunctionRegistry {
  private constructor(
    readonly dir: string,
    private readonly entries: ReadonlyMap<string, Entry>,
  ) {}

  static async load(dir: string, options: DirectoryRegistryOptions = {}): Promise<DirectoryRegistry> {
    const root = resolve(dir);
    const listing = await readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      throw new RegistryError([{ function: root, message: `cannot read the functions directory: ${err.code ?? err.message}` }]);
    });
    const entries = new Map<string, Entry>();
    const problems: { function: string; message: string }[] = [];
    for (const item of listing.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!item.isDirectory() || item.name.startsWith('.') || item.name.startsWith('_')) continue;
      const fnDir = join(root, item.name);
      const manifestPath = join(fnDir, MANIFEST_FILE);
      const text = await readFile(manifestPath, 'utf8').catch(() => null);
      if (text === null) continue;
      try {
        const entry = await loadFunction(fnDir, manifestPath, text, options.platformEnv ?? {});
        if (entry.manifest.name !== item.name) {
          throw new Error(`name "${entry.manifest.name}" does not match its folder "${item.name}"`);
        }
        entries.set(entry.manifest.name, entry);
      } catch (err) {
        problems.push({ function: item.name, message: (err as Error).message });
      }
    }
    if (problems.length > 0) throw new RegistryError(problems);
    return new DirectoryRegistry(root, entries);
  }

  /** Every function of a directory is public, active and deployed. */
  resolve(name: string): Resolution {
    return this.entries.get(name)?.resolution ?? NOT_FOUND;
  }

  get(name: string): FunctionVersion | undefined {
    return this.entries.get(name)?.fn;
  }

  list(): FunctionVersion[] {
    return [...this.entries.values()].map((e) => e.fn);
  }

  /** The parsed manifest (runtime preset, invocation mode, triggers) of a function. */
  manifest(name: string): Manifest | undefined {
    return this.entries.get(name)?.manifest;
  }
}

async function loadFunction(dir: string, manifestPath: string, text: string, platformEnv: Record<string, string | undefined>): Promise<Entry> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ManifestError([{ path: '', message: `not valid YAML: ${(err as Error).message}` }], manifestPath);
  }
  const manifest = parseManifest(raw, { platformEnv, source: manifestPath });
  const version = manifest.version ?? (await contentVersion(dir, manifest.env));
  const fn: FunctionVersion = {
    name: manifest.name,
    version,
    dir,
    entrypoint: manifest.entrypoint,
    env: manifest.env,
    memoryBytes: manifest.limits.memoryBytes,
    timeoutMs: manifest.limits.timeoutMs,
    concurrency: manifest.limits.concurrency,
    maxInstances: manifest.limits.maxInstances,
    minWarm: manifest.limits.minWarm,
    maxQueue: manifest.limits.maxQueue,
    errors: manifest.errors,
    ...(manifest.event === 'lambda' ? { event: manifest.event } : {}),
  };
  const frozen = Object.freeze(fn);
  return { fn: frozen, manifest, resolution: Object.freeze({ found: true, fn: frozen, paused: false, auth: null, invocation: manifest.invocation }) };
}

const SKIPPED_DIRS = new Set(['__pycache__', 'node_modules']);

/**
 * A version derived from the content: sha256 over every file (sorted relative path, size, bytes)
 * plus the resolved env, first 12 hex digits. Same files and env → same version, so a restart
 * keeps versions stable; any edit, or a changed `${VAR}`, gives a new one.
 */
export async function contentVersion(dir: string, resolvedEnv: Record<string, string>): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await listFiles(dir)) {
    const rel = relative(dir, file).split(sep).join('/');
    const bytes = await readFile(file);
    hash.update(`${rel}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  const env = Object.keys(resolvedEnv).sort().map((k) => [k, resolvedEnv[k]]);
  hash.update(`\0env\0${JSON.stringify(env)}`);
  return hash.digest('hex').slice(0, 12);
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const item of await readdir(dir, { withFileTypes: true })) {
    if (item.name.startsWith('.') || SKIPPED_DIRS.has(item.name) || item.name.endsWith('.pyc')) continue;
    const path = join(dir, item.name);
    if (item.isDirectory()) out.push(...(await listFiles(path)));
    else if (item.isFile() || (item.isSymbolicLink() && (await stat(path).catch(() => null))?.isFile())) out.push(path);
  }
  return out.sort();
}
