/**
 * Where the banner (and `up`) says the web console is: `console.<base domain>` on the platform's
 * port, or, behind a proxy (`FP_PUBLIC_URL`), on the public URL's scheme and port (docs/console.md,
 * "An origin of its own"). It printed `http://console.<base>:<listening port>/console/` there, a
 * port and scheme the proxy does not serve (new-user round 5). With host routing off: `/console/`
 * of the public URL, else of the listening one.
 */
import { CONSOLE_HOST } from '../gateway/index.js';

export function consoleUrlOf(baseDomain: string | null, publicUrl: string | undefined, listening: string, port: number): string {
  const base = publicUrl?.replace(/\/+$/, '');
  if (baseDomain === null) return `${base ?? listening}/console/`;
  if (base === undefined) return `http://${CONSOLE_HOST}.${baseDomain}:${port}/console/`;
  const url = new URL(base);
  return `${url.protocol}//${CONSOLE_HOST}.${baseDomain}${url.port === '' ? '' : `:${url.port}`}/console/`;
}
