/**
 * A Unix socket written the way the other server's URL takes it (new-user round 13): README's
 * production setup reaches Redis and FerretDB on sockets, and the two URLs spell a socket
 * differently — Redis as `unix:///path?password=…`, MongoDB as the percent-encoded path in the host
 * (`mongodb://%2Fpath%2Fto.sock/`). Written as a path after `redis://` or `mongodb://`, the start
 * failed with the client library's words (`Invalid URL`, `Protocol and host list are required`).
 * Each function says what to write instead, or null; the message never repeats a password.
 */

/** The host-less path of `scheme://[user[:password]@]/path…` (the socket path an admin meant), else null. */
function hostlessPath(url: string, scheme: RegExp): string | null {
  const rest = url.replace(scheme, '');
  if (rest === url) return null;
  const at = rest.indexOf('/');
  if (at < 0) return null;
  const authority = rest.slice(0, at);
  // A host after the user information: an ordinary URL, not this mistake.
  if (authority.slice(authority.lastIndexOf('@') + 1) !== '') return null;
  const path = rest.slice(at).split(/[?#]/, 1)[0]!.replace(/\/+$/, '');
  // `redis:///0` is a database number, not a path.
  return /^\/+\d*$/.test(path) || path === '' ? null : path.replace(/^\/+/, '/');
}

/** FP_REDIS_URL with a socket path after `redis://`: the `unix://` form it takes. */
export function redisSocketMistake(url: string): string | null {
  const path = hostlessPath(url, /^rediss?:\/\//i);
  if (path === null) return null;
  const password = /^rediss?:\/\/[^/]*:[^/]*@/i.test(url) ? '?password=…' : '';
  return `a Unix socket is written unix://${path}${password} (its password, if any, in ?password=), not as a path after redis:// (README, "Production mode")`;
}

/** FP_MONGO_URL (or FP_DATA_MONGO_URL) with a socket path after `mongodb://`: the encoded form it takes. */
export function mongoSocketMistake(url: string): string | null {
  const path = hostlessPath(url, /^mongodb:\/\//i);
  if (path === null) return null;
  // The socket is the path up to its `.sock`; what follows (`/fastapi_platform`) was meant as the database.
  const sock = /^(.*?\.sock)(?:\/|$)/.exec(path)?.[1] ?? path;
  return `a Unix socket's path is percent-encoded as the host: mongodb://${encodeURIComponent(sock)}/ (node -p 'encodeURIComponent("${sock}")'; README, "Production mode")`;
}
