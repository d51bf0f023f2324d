/**
 * docs/migrating.md says what the code does: every worked example (its Python files and its
 * platform.yaml, as the page shows them) passes the manifest schema and `validate` (runtime/validate.py)
 * with no problem, every hint it quotes as validate's is what validate says for that platform's
 * original shape, and README's documentation list links the page. Runs the repository's Python; no server.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseManifest } from '../../protocol/index.js';
import { repoPath, repoRoot } from '../helpers/runtime-process.js';

const DOC = readFileSync(repoPath('docs/migrating.md'), 'utf8');
const PYTHON = join(repoRoot(), '.venv', 'bin', 'python');
const scratch = mkdtempSync(join(tmpdir(), 'fp-docs-migrating-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Example { name: string; files: Record<string, string>; manifest: string }

/** The page's examples: the ```python blocks (first line `# <file>`) before each ```yaml platform.yaml. */
function examples(): Example[] {
  const found: Example[] = [];
  let files: Record<string, string> = {};
  for (const m of DOC.matchAll(/```(python|yaml)\n([\s\S]*?)```/g)) {
    const body = m[2]!;
    if (m[1] === 'python') {
      const file = /^# ([\w/.-]+\.py)\b/.exec(body)?.[1];
      assert.ok(file, `a python block names its file on its first line: ${body.split('\n')[0]}`);
      files[file] = body;
      continue;
    }
    const requirements = /requirements\.txt: (\S+)\)/.exec(body.split('\n')[0]!)?.[1];
    if (requirements) files['requirements.txt'] = `${requirements}\n`;
    found.push({ name: String((parseYaml(body) as { name: string }).name), files, manifest: body });
    files = {};
  }
  return found;
}

type Report = { problems: { message: string }[]; entrypoint: { kind: string | null } };

/** Writes `files` into a folder named `name` and returns the request for validate.py's `--serve`. */
function folder(name: string, files: Record<string, string>, entrypoint: string): string {
  const dir = join(scratch, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return JSON.stringify({ dir, entrypoint, files: Object.keys(files) });
}

/** validate.py's reports for the requests, in one process (`--serve`: a report per line). */
function validateAll(requests: string[]): Report[] {
  const out = execFileSync(PYTHON, ['-I', repoPath('runtime/validate.py'), '--serve'], { input: requests.join('\n') + '\n', encoding: 'utf8' });
  return out.trim().split('\n').map((line) => JSON.parse(line) as Report);
}

describe('docs/migrating.md', () => {
  const all = examples();
  // The shapes the page says validate refuses, as the other platform writes them, and the hint it quotes.
  const originals: [string, string, Record<string, string>][] = [
    ['hello:main', 'Fission', { 'hello.py': 'def main():\n    return "Hello, world!"\n' }],
    ['hello:main', 'OpenWhisk', { 'hello.py': 'def main(args):\n    return {"greeting": args.get("name")}\n' }],
    ['handler:handle', 'OpenFaaS', { 'handler.py': 'def handle(req):\n    return req\n' }],
  ];
  const entrypoints = all.map((e) => parseManifest(parseYaml(e.manifest)).entrypoint);
  const reports = validateAll([
    ...all.map((e, i) => folder(e.name, e.files, entrypoints[i]!)),
    ...originals.map(([entrypoint, platform, files]) => folder(`original-${platform}`, files, entrypoint)),
  ]);

  it('has a worked example for each platform it covers', () => {
    assert.deepEqual(all.map((e) => e.name), ['uvicorn-app', 'lambda-apigw', 'lambda-scheduled', 'openfaas-http', 'fission-main', 'openwhisk-web', 'vercel-basehttp']);
  });

  all.forEach((example, i) => {
    it(`${example.name}: its platform.yaml parses and its code validates with no problem`, () => {
      const report = reports[i]!;
      assert.deepEqual(report.problems, []);
      assert.ok(report.entrypoint.kind, `the entrypoint ${entrypoints[i]} is found`);
    });
  });

  originals.forEach(([, platform], i) => {
    it(`quotes what validate says for ${platform}'s own shape`, () => {
      const quoted = new RegExp(`validate says: "(${platform}'s [^"]+)"`).exec(DOC)?.[1];
      assert.ok(quoted, `the page quotes validate's hint for ${platform}`);
      const report = reports[all.length + i]!;
      assert.equal(report.problems.length, 1);
      assert.ok(report.problems[0]!.message.includes(quoted), `${report.problems[0]!.message}\n does not say\n${quoted}`);
    });
  });

  it("is linked from README's documentation list", () => {
    assert.match(readFileSync(repoPath('README.md'), 'utf8'), /^- docs\/migrating\.md — /m);
  });
});
