// After `npm ci`: when better-sqlite3 was compiled from source (prebuild-install could not
// download its prebuilt binary: no access to GitHub's release downloads), keep the compiled binary
// where prebuild-install keeps the binaries it downloads (the npm cache's _prebuilds folder, under
// the name it looks for), so the next install on this machine — a fresh clone — unpacks it
// instead of compiling SQLite again (minutes on a 2-core machine). On a machine that can download
// it, prebuild-install has put it there already and this does nothing. Never fails the setup.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE = join(ROOT, 'node_modules', 'better-sqlite3');
const BINARY = join('build', 'Release', 'better_sqlite3.node');

try {
  if (existsSync(join(PACKAGE, BINARY))) {
    const require = createRequire(join(PACKAGE, 'package.json'));
    const util = require('prebuild-install/util');
    const pkg = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8'));
    // The options prebuild-install itself would use here (its rc.js defaults for this Node).
    const url = util.getDownloadUrl({ pkg, runtime: 'node', abi: process.versions.modules, platform: process.platform, arch: process.arch, libc: '', 'tag-prefix': 'v' });
    const cached = util.cachedPrebuild(url);
    if (!existsSync(cached)) {
      mkdirSync(dirname(cached), { recursive: true });
      const temp = `${cached}.${process.pid}.tmp`;
      execFileSync('tar', ['-czf', temp, '-C', PACKAGE, BINARY]);
      renameSync(temp, cached);
      process.stdout.write(`setup: kept the compiled better-sqlite3 binary for later installs (${cached})\n`);
    }
  }
} catch (err) {
  process.stdout.write(`setup: could not keep the better-sqlite3 binary for later installs (${err.message}); installs will compile it\n`);
}
