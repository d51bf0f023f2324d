// Before `npm ci`: where this Node's own C headers are, so that node-gyp (better-sqlite3 built from
// source where its prebuilt binary cannot be downloaded) compiles against them instead of
// downloading them. Prints that prefix (for npm_config_nodedir) when `<prefix>/include/node` holds
// the headers of this very Node version (Debian's and NodeSource's packages, the official tarballs),
// else nothing: node-gyp then downloads them as before. New-user round 7: a user without
// `nodedir` in an .npmrc, on a machine that could not reach the headers' download, got
// `gyp ERR! … related to network connectivity` and no platform. Never fails the setup.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The prefix whose include/node has `version`'s headers, or null. */
export function nodeHeadersDir(execPath, version, env) {
  if (env.npm_config_nodedir) return null;
  const prefix = resolve(dirname(execPath), '..');
  const file = join(prefix, 'include', 'node', 'node_version.h');
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const part = (name) => new RegExp(`^#define NODE_${name}_VERSION (\\d+)$`, 'm').exec(text)?.[1];
  const found = [part('MAJOR'), part('MINOR'), part('PATCH')].join('.');
  return found === version ? prefix : null;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const dir = nodeHeadersDir(process.execPath, process.versions.node, process.env);
    if (dir !== null) process.stdout.write(`${dir}\n`);
  } catch {
    // node-gyp finds its headers itself
  }
}
