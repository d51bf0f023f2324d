/**
 * Unix socket paths hold 107 bytes at most (sun_path is 108, a NUL last): a state directory too
 * long for the sockets the platform makes under it failed them one by one (new-user round 14: at
 * 87 bytes the embedded FerretDB could not listen, and data bindings were off with "ferretdb
 * exited"; each dependency build failed). The start refuses it instead, naming the longest one.
 */
import { join } from 'node:path';
import { PlatformError } from '../protocol/index.js';

export const UNIX_SOCKET_PATH_MAX = 107;

/** The longest socket path under each folder, and what it is (each module's own naming). */
function longestSockets(stateDir: string, depsRoot: string): { path: string; what: string; folder: string }[] {
  return [
    // controlplane/deps/builder.ts: <deps root>/.staging/<12 hex>/work/proxy.sock (site.ts `makeStaging`)
    // (the state directory's own `deps/` by default: its length is then the state directory's to give)
    { path: join(depsRoot, '.staging', 'x'.repeat(12), 'work', 'proxy.sock'), what: "the dependency builder's proxy socket", folder: depsRoot === join(stateDir, 'deps') ? stateDir : depsRoot },
    // controlplane/data/service.ts: <state>/data/sock/<16 hex>/mongo.sock (one per function with a data binding)
    { path: join(stateDir, 'data', 'sock', 'x'.repeat(16), 'mongo.sock'), what: "a function's data binding socket", folder: stateDir },
    // platform/data.ts: the embedded FerretDB
    { path: join(stateDir, 'data', 'ferretdb', 'ferretdb.sock'), what: "the embedded FerretDB's socket", folder: stateDir },
  ];
}

/** BAD_CONFIG when a socket the platform makes under `stateDir` or `depsRoot` would not fit. */
export function checkSocketPaths(stateDir: string, depsRoot: string): void {
  for (const { path, what, folder } of longestSockets(stateDir, depsRoot)) {
    const bytes = Buffer.byteLength(path);
    if (bytes <= UNIX_SOCKET_PATH_MAX) continue;
    const room = UNIX_SOCKET_PATH_MAX - (bytes - Buffer.byteLength(folder));
    throw new PlatformError('BAD_CONFIG', `the folder ${folder} is too long for the platform's Unix sockets: ${what} would be ${path} ` +
      `(${bytes} bytes; the kernel takes ${UNIX_SOCKET_PATH_MAX}). Use a state directory (--state-dir, FP_STATE_DIR; a deps root of its own too) of at most ${room} bytes`,
    { folder, bytes, maxBytes: UNIX_SOCKET_PATH_MAX });
  }
}
