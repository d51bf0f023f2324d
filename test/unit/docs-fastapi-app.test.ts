/**
 * docs/fastapi-app.md (new-user round 11) says what the code does: README links it, its platform.yaml
 * passes the manifest schema, the message it quotes for the folder without platform.yaml is
 * validate's for that layout (cli/other-platforms.ts), and the Docs line it shows is deploy's
 * (cli/deploy-flow.ts docsLine).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { docsLine } from '../../cli/deploy-flow.js';
import { otherPlatform, otherPlatformMessage } from '../../cli/other-platforms.js';
import { parseManifest } from '../../protocol/index.js';
import { repoPath } from '../helpers/runtime-process.js';

const DOC = readFileSync(repoPath('docs/fastapi-app.md'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'fp-docs-fastapi-app-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('docs/fastapi-app.md', () => {
  it("is linked from README's documentation list", () => {
    assert.match(readFileSync(repoPath('README.md'), 'utf8'), /^- docs\/fastapi-app\.md — /m);
  });

  it('shows a platform.yaml the manifest schema takes', () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(DOC)?.[1] ?? '';
    assert.equal(parseManifest(parseYaml(yaml)).entrypoint, 'app.main:app');
  });

  it("quotes validate's words for the layout it shows, without platform.yaml", () => {
    const dir = join(scratch, 'myshop');
    for (const [file, text] of Object.entries({ 'app/__init__.py': '', 'app/main.py': 'from fastapi import FastAPI\n\napp = FastAPI()\n', 'app/routers/items.py': '', 'tests/test_items.py': '', 'requirements.txt': 'fastapi\n' })) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    const said = otherPlatformMessage(dir, otherPlatform(dir)!);
    const quoted = /# error: platform\.yaml: (not found in \S+: this is a folder of [^\n]*)\n#\s+([^\n]*) \(docs\/migrating\.md/.exec(DOC);
    assert.ok(quoted, 'the page quotes the message');
    assert.ok(said.startsWith(`${quoted[1]!.replace('/home/me/myshop', dir)} ${quoted[2]!}`), said);
  });

  it("shows deploy's Docs line", () => {
    const line = docsLine('http://127.0.0.1:8080/fn/myshop/', { auth: 'public', invocation: 'both' }, '/docs')!;
    assert.ok(DOC.includes(`# ${line}`), line);
  });
});
