// First step of scripts/setup.sh (and so of `npm start`): refuses a Node.js older than package.json's
// `engines.node`, saying which it is and how to get a newer one. npm only warns (EBADENGINE) and
// goes on: on Debian 12, whose own nodejs package is 18, the install then went on to fail later
// with errors that did not name the version (new-user round 7).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Why `version` does not satisfy `range` (only the `>=MAJOR.MINOR[.PATCH]` form package.json uses), or null. */
export function nodeTooOld(version, range) {
  const want = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (want === null) return null;
  const have = version.replace(/^v/, '').split('.').map(Number);
  const need = [Number(want[1]), Number(want[2] ?? 0), Number(want[3] ?? 0)];
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) > need[i]) return null;
    if ((have[i] ?? 0) < need[i]) {
      return `this is Node.js ${version.replace(/^v/, '')}; fastapi-platform needs Node.js ${range.trim()} (package.json "engines"). ` +
        `Debian 12's own nodejs package (18) is older: install Node.js ${need.join('.')} or later (NodeSource's packages, or nvm), then run this again`;
    }
  }
  return null;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const range = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines?.node ?? '';
  const why = nodeTooOld(process.versions.node, range);
  if (why !== null) {
    process.stderr.write(`setup: ${why}\n`);
    process.exit(1);
  }
}
