/**
 * Unix socket paths hold 107 bytes at most (sun_path is 108, a NUL last): a state directory too
 * long for the sockets the platform makes under it failed them one by one (new-user round 14: at
 * 87 bytes the embedded FerretDB could not listen, and data bindings were off with "ferretdb
 * exited"; each dependency build failed; a TMPDIR of 64 bytes had every zygote fail and be
 * bypassed). The start refuses it instead, naming the longest one.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { longestZygoteSocket } from '../poolmgr/index.js';
import { PlatformError } from '../protocol/index.js';

export const UNIX_SOCKET_PATH_MAX = 107;

/**
 * The longest socket path under each folder, and what it is (each module's own naming). Not the
 * dependency builder's proxy socket: it listens through a short link when its path is too long
 * (controlplane/deps/builder.ts `viaShortPath`), so a deps root of any length builds.
 */
function longestSockets(stateDir: string): { path: string; what: string; folder: string; setting: string }[] {
  const state = 'state directory (--state-dir, FP_STATE_DIR)';
  return [
    // controlplane/data/service.ts: <state>/data/sock/<16 hex>/mongo.sock (one per function with a data binding)
    { path: join(stateDir, 'data', 'sock', 'x'.repeat(16), 'mongo.sock'), what: "a function's data binding socket", folder: stateDir, setting: state },
    // platform/data.ts: the embedded FerretDB
    { path: join(stateDir, 'data', 'ferretdb', 'ferretdb.sock'), what: "the embedded FerretDB's socket", folder: stateDir, setting: state },
    // poolmgr/host/zygotes.ts: each zygote's, in a folder of TMPDIR (too long, every zygote failed and was bypassed: slow cold starts)
    { path: longestZygoteSocket(), what: "a zygote's socket", folder: tmpdir(), setting: 'TMPDIR' },
  ];
}

/** BAD_CONFIG when a socket the platform makes under `stateDir` or TMPDIR would not fit. */
export function checkSocketPaths(stateDir: string): void {
  for (const { path, what, folder, setting } of longestSockets(stateDir)) {
    const bytes = Buffer.byteLength(path);
    if (bytes <= UNIX_SOCKET_PATH_MAX) continue;
    const room = UNIX_SOCKET_PATH_MAX - (bytes - Buffer.byteLength(folder));
    throw new PlatformError('BAD_CONFIG', `the folder ${folder} is too long for the platform's Unix sockets: ${what} would be ${path} ` +
      `(${bytes} bytes; the kernel takes ${UNIX_SOCKET_PATH_MAX}). Use a ${setting} of at most ${room} bytes`,
    { folder, bytes, maxBytes: UNIX_SOCKET_PATH_MAX });
  }
}
