/**
 * Deploys tutorial apps as functions through the control plane's API, as a user would: one
 * function per app (`module:attr` from the in-process run), its bundle = the app's whole topic folder (`docs_src/<topic>/**`, so package-relative imports and
 * sibling modules resolve), entrypoint = the dotted module and attribute.
 *
 * A few apps need what their test sets up around them; the bundle or the function's env carries
 * the same (DEPLOY_SETTINGS), as a user would ship it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface DeploySetting {
  /** Extra files at the bundle's root: bundle path → path under the sdist's root, or literal content. */
  files?: Record<string, { from: string } | { content: string }>;
  env?: Record<string, string>;
  why: string;
}

/** Keyed by a prefix of the app's module. */
export const DEPLOY_SETTINGS: Record<string, DeploySetting> = {
  'docs_src.settings.': {
    env: { ADMIN_EMAIL: 'admin@example.com' },
    why: 'the test sets ADMIN_EMAIL with monkeypatch.setenv before importing the app',
  },
  'docs_src.templates.': {
    files: { templates: { from: 'docs_src/templates/templates' }, static: { from: 'docs_src/templates/static' } },
    why: 'the test copies docs_src/templates/{templates,static} into the working directory; the function runs in its bundle root',
  },
  'docs_src.custom_docs_ui.': {
    files: { 'static/.keep': { content: '' } },
    why: 'the test creates an empty static/ directory in the working directory before importing the app',
  },
  'docs_src.static_files.': {
    files: { 'static/sample.txt': { content: 'This is a sample static file.' } },
    why: 'the test writes static/sample.txt into the working directory before importing the app',
  },
};

export interface DeployedApp {
  key: string;
  name: string;
  /** `http://127.0.0.1:<port>/fn/<name>` */
  base: string;
  files: number;
  settings?: string;
}

interface ApiFile {
  path: string;
  contentBase64: string;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '__pycache__') out.push(...(await walk(path)));
    } else if (entry.isFile() && !entry.name.endsWith('.pyc')) {
      out.push(path);
    }
  }
  return out;
}

async function filesFrom(src: string, from: string, to: string): Promise<ApiFile[]> {
  const root = join(src, from);
  const paths = await walk(root).catch(() => [join(src, from)]);
  const out: ApiFile[] = [];
  for (const path of paths) {
    const rel = paths.length === 1 && path === root ? to : join(to, relative(root, path));
    out.push({ path: rel.split('\\').join('/'), contentBase64: (await readFile(path)).toString('base64') });
  }
  return out;
}

/** A DNS-label function name from the module (`docs_src.body.tutorial001` → `body-tutorial001-3fa2`). */
export function functionName(key: string): string {
  const module = key.split(':')[0]!.replace(/^docs_src\./, '');
  const stem = module.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 52).replace(/-+$/, '');
  return `${stem}-${randomBytes(2).toString('hex')}`;
}

export class PeerApi {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  }

  async expect(status: number, method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await this.call(method, path, body);
    if (res.status !== status) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
    return res.body;
  }
}

/** Deploys one app; rejects when the API refuses (the reason is in the message). */
export async function deployApp(api: PeerApi, src: string, key: string): Promise<DeployedApp> {
  const [module] = key.split(':') as [string];
  const topic = module.split('.')[1]!;
  // docs_src/ itself is a namespace package (no __init__.py) in recent sdists.
  const files = [
    ...(existsSync(join(src, 'docs_src', '__init__.py')) ? await filesFrom(src, 'docs_src/__init__.py', 'docs_src/__init__.py') : []),
    ...(await filesFrom(src, `docs_src/${topic}`, `docs_src/${topic}`)),
  ];
  const settingKey = Object.keys(DEPLOY_SETTINGS).find((prefix) => module.startsWith(prefix));
  const setting = settingKey ? DEPLOY_SETTINGS[settingKey] : undefined;
  for (const [to, what] of Object.entries(setting?.files ?? {})) {
    if ('content' in what) files.push({ path: to, contentBase64: Buffer.from(what.content).toString('base64') });
    else files.push(...(await filesFrom(src, what.from, to)));
  }
  const name = functionName(key);
  await api.expect(201, 'POST', '/functions', { name, ...(setting?.env ? { env: setting.env } : {}) });
  // As the CLI does: contents go up once as blobs (apps of one topic share their files), the
  // version names them by hash.
  const refs = files.map((f) => {
    const bytes = Buffer.from(f.contentBase64, 'base64');
    return { path: f.path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, bytes };
  });
  const { missing } = (await api.expect(200, 'POST', '/blobs/missing', { sha256: [...new Set(refs.map((r) => r.sha256))] })) as { missing: string[] };
  for (const sha of missing) {
    const ref = refs.find((r) => r.sha256 === sha)!;
    const res = await fetch(`${api.url}/api/v1/blobs/${sha}`, { method: 'PUT', headers: { authorization: `Bearer ${api.token}` }, body: ref.bytes });
    if (res.status !== 201 && res.status !== 200) throw new Error(`PUT /blobs/${sha}: ${res.status} ${await res.text()}`);
  }
  // errors: verbose, so a platform-only failure's answer names the exception (the findings are sorted by it).
  const manifest = { kind: 'function', name, entrypoint: key, errors: 'verbose' };
  await api.expect(201, 'POST', `/functions/${name}/versions`, { entrypoint: key, manifest, files: refs.map(({ path, sha256, size }) => ({ path, sha256, size })) });
  await api.expect(200, 'POST', `/functions/${name}/deploy`, {});
  return { key, name, base: `${api.url}/fn/${name}`, files: files.length, ...(settingKey ? { settings: setting!.why } : {}) };
}

/** Deploys every app, a few at a time; apps the API refused are returned apart with the reason. */
export async function deployAll(api: PeerApi, src: string, keys: string[], parallel = 4): Promise<{ deployed: DeployedApp[]; refused: { key: string; reason: string }[] }> {
  const deployed: DeployedApp[] = [];
  const refused: { key: string; reason: string }[] = [];
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
        try {
          deployed.push(await deployApp(api, src, key));
        } catch (err) {
          refused.push({ key, reason: (err as Error).message });
        }
      }
    }),
  );
  deployed.sort((a, b) => a.key.localeCompare(b.key));
  return { deployed, refused };
}
