/**
 * The platform's default runtime environment (the repository's .venv: runtime/requirements.txt
 * and what the operator installed) against the tutorial apps: which of them could not even be
 * imported there, and the package each one misses. The tier itself runs the runtimes in the peer
 * environment, so this is reported apart (finding `missing-package`), not as test failures.
 */
import { join } from 'node:path';
import type { PeerCache } from './cache.js';
import { run } from './cache.js';
import { DEPLOY_SETTINGS } from './deploy.js';
import { REPO_PYTHON } from './paths.js';

export interface EnvironmentCheck {
  python: string;
  checked: number;
  /** module:attr → the import error, for apps that miss a package (`ModuleNotFoundError: No module named 'jwt'`). */
  failures: Record<string, string>;
  /** The missing package (its PyPI name) → the apps that need it. */
  byPackage: Record<string, string[]>;
  /** Apps that failed to import there for another reason (they need what their test sets up: see deploy.ts). */
  other: Record<string, string>;
}

const SCRIPT = `
import importlib, json, os, re, sys
src, keys, settings = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
sys.path.insert(0, src)
os.chdir(src)
out = {}
for key in keys:
    module = key.split(":")[0]
    for prefix, env in settings.items():
        if module.startswith(prefix):
            os.environ.update(env)
    try:
        importlib.import_module(module)
    except BaseException as e:
        out[key] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
print(json.dumps(out))
`;

/** Import name → PyPI name, where they differ. */
const PYPI: Record<string, string> = { jwt: 'pyjwt', multipart: 'python-multipart', python_multipart: 'python-multipart', pydantic_settings: 'pydantic-settings', email_validator: 'email-validator', yaml: 'pyyaml' };

/** The package a failure names (`No module named 'jwt'` → pyjwt; FastAPI's message for forms → python-multipart), or null. */
function packageOf(error: string): string | null {
  const named = /No module named '([^'.]+)/.exec(error);
  if (named) return PYPI[named[1]!] ?? named[1]!;
  if (/python-multipart/.test(error)) return 'python-multipart';
  const mustBe = /\b([A-Za-z][\w-]*) must be installed/.exec(error);
  if (mustBe) return PYPI[mustBe[1]!] ?? mustBe[1]!.toLowerCase();
  if (/email[-_]validator/.test(error)) return 'email-validator';
  return null;
}

export async function checkPlatformEnvironment(cache: PeerCache, keys: string[]): Promise<EnvironmentCheck> {
  const settings = Object.fromEntries(Object.entries(DEPLOY_SETTINGS).map(([prefix, s]) => [prefix, s.env ?? {}]));
  const text = await run(REPO_PYTHON, ['-I', '-c', SCRIPT, join(cache.src), JSON.stringify(keys), JSON.stringify(settings)], { env: { PATH: process.env['PATH'] ?? '' } });
  const all = JSON.parse(text.trim().split('\n').pop() ?? '{}') as Record<string, string>;
  const failures: Record<string, string> = {};
  const other: Record<string, string> = {};
  const byPackage: Record<string, string[]> = {};
  for (const [key, error] of Object.entries(all)) {
    const pkg = packageOf(error);
    if (pkg === null) {
      other[key] = error;
      continue;
    }
    failures[key] = error;
    (byPackage[pkg] ??= []).push(key);
  }
  return { python: REPO_PYTHON, checked: keys.length, failures, byPackage, other };
}
