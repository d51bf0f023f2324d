/**
 * The peer tier's cache: FastAPI's source distribution (its `docs_src/` tutorial apps and
 * `tests/`) and a Python virtual environment with what those tests and apps import. Built once
 * per FastAPI version and requirements (PyPI only, through pip), reused afterwards.
 *
 *   <cache>/fastapi-<version>/src/{docs_src,tests}   from the sdist
 *   <cache>/fastapi-<version>/venv/                  test/peers/requirements.txt + the FastAPI stack of .venv
 *
 * `<cache>` is FP_PEERS_CACHE, else $XDG_CACHE_HOME/fastapi-platform/peers, else ~/.cache/….
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PEERS_SRC, REPO_PYTHON, ROOT } from './paths.js';

/** The packages that must be the very versions the repository's .venv runs (the platform's). */
const SHARED_STACK = ['fastapi', 'starlette', 'pydantic', 'pydantic-core', 'anyio', 'typing-extensions', 'typing-inspection', 'annotated-types', 'annotated-doc', 'msgpack', 'idna'];

export interface PeerCache {
  version: string;
  dir: string;
  /** Extracted sdist: `docs_src/` and `tests/`. */
  src: string;
  python: string;
}

export function cacheRoot(env: NodeJS.ProcessEnv): string {
  if (env['FP_PEERS_CACHE']) return env['FP_PEERS_CACHE'];
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'fastapi-platform', 'peers');
}

/** FastAPI's pinned version, from runtime/requirements-presets.txt. */
export async function fastapiVersion(): Promise<string> {
  const text = await readFile(join(ROOT, 'runtime', 'requirements-presets.txt'), 'utf8');
  const match = /^fastapi==([0-9][^\s#]*)/m.exec(text);
  if (!match) throw new Error('runtime/requirements-presets.txt pins no fastapi==<version>');
  return match[1]!;
}

/** Runs a command; rejects with its output's tail when it fails. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${signal ?? code}:\n${out.slice(-4000)}`));
    });
  });
}

/** `name==version` lines of .venv for the FastAPI stack, so both sides run the platform's versions. */
async function sharedConstraints(): Promise<string> {
  const frozen = await run(REPO_PYTHON, ['-m', 'pip', 'freeze', '--disable-pip-version-check']);
  const norm = (n: string): string => n.toLowerCase().replace(/[-_.]+/g, '-');
  return frozen
    .split('\n')
    .filter((line) => {
      const name = line.split('==')[0];
      return name !== undefined && line.includes('==') && SHARED_STACK.includes(norm(name));
    })
    .join('\n');
}

export async function ensureCache(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<PeerCache> {
  const version = await fastapiVersion();
  const dir = join(cacheRoot(env), `fastapi-${version}`);
  const venv = join(dir, 'venv');
  const python = join(venv, 'bin', 'python');
  await mkdir(dir, { recursive: true });

  const requirements = await readFile(join(PEERS_SRC, 'requirements.txt'), 'utf8');
  const constraints = `${await sharedConstraints()}\nfastapi==${version}\n`;
  const want = createHash('sha256').update(requirements).update(constraints).digest('hex');
  const stamp = join(venv, '.fp-peers-stamp');
  if (!existsSync(stamp) || (await readFile(stamp, 'utf8')) !== want) {
    log(`peers: building the Python environment in ${venv} (pip, PyPI)`);
    if (!existsSync(python)) await run(REPO_PYTHON, ['-m', 'venv', venv]);
    const constraintsFile = join(dir, 'constraints.txt');
    await writeFile(constraintsFile, constraints);
    await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
      '-r', join(PEERS_SRC, 'requirements.txt'), '-r', join(ROOT, 'runtime', 'requirements.txt'),
      '-c', constraintsFile, `fastapi==${version}`]);
    await writeFile(stamp, want);
  }

  const src = join(dir, 'src');
  if (!existsSync(join(src, '.complete'))) {
    log(`peers: downloading fastapi ${version}'s source distribution (pip download)`);
    const sdist = join(dir, 'sdist');
    await rm(sdist, { recursive: true, force: true });
    await run(python, ['-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps',
      '--no-binary', 'fastapi', `fastapi==${version}`, '-d', sdist]);
    const archive = (await readdir(sdist)).find((f) => f.endsWith('.tar.gz'));
    if (!archive) throw new Error(`pip download left no .tar.gz in ${sdist}`);
    await rm(src, { recursive: true, force: true });
    // Only docs_src/ and tests/, the top folder stripped; never the sdist's own fastapi/ (it would
    // shadow the installed package the platform runs).
    await run(python, ['-c', [
      'import sys, tarfile, os',
      'archive, out = sys.argv[1], sys.argv[2]',
      'with tarfile.open(archive) as t:',
      '    members = []',
      '    for m in t.getmembers():',
      '        parts = m.name.split("/", 1)',
      '        if len(parts) == 2 and parts[1].split("/")[0] in ("docs_src", "tests"):',
      '            m.name = parts[1]',
      '            members.append(m)',
      '    t.extractall(out, members=members, filter="data")',
    ].join('\n'), join(sdist, archive), src]);
    await writeFile(join(src, '.complete'), `${archive}\n`);
  }
  return { version, dir, src, python };
}
