/**
 * Where a browser that asked for `/console/` on the platform's host is sent (docs/console.md, "An
 * origin of its own"): the console lives at `console.<base domain>`, so `/console/` elsewhere
 * answers 302 to it. With the default base domain, `localhost`, that host is the browser's own
 * machine: from another machine (a homelab server opened by its address or name) the redirect led
 * nowhere (console round 9). There the answer is a page that says so and how to reach the console.
 */
import type { Pairs } from '../protocol/index.js';
import { CONSOLE_HOST, hostPort } from './routes.js';
import type { OutgoingResponse } from './http-server.js';

/** Hosts a browser on this machine uses for it: a redirect to `console.localhost` reaches the platform from there. */
const LOCAL_HOST = /^((?:[^.]+\.)*localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$/i;

export function consoleElsewhere(baseDomain: string, headers: Pairs, url: string): OutgoingResponse {
  const port = hostPort(headers);
  const host = headers.find(([k]) => k === 'host')?.[1].trim() ?? '';
  if (baseDomain.toLowerCase() !== 'localhost' || LOCAL_HOST.test(host)) {
    return { status: 302, headers: [['location', `//${CONSOLE_HOST}.${baseDomain}${port}${url}`], ['cache-control', 'no-store']], body: new Uint8Array(0) };
  }
  const local = `http://${CONSOLE_HOST}.localhost${port}/console/`;
  const page = `<!doctype html><meta charset="utf-8"><title>fastapi-platform console</title>
<h1>The console is not reachable from this machine as the platform is set up</h1>
<p>The console lives on an origin of its own, <code>${CONSOLE_HOST}.&lt;base domain&gt;</code>, apart from the
functions' pages. This platform's base domain is <code>localhost</code> (the default), which only a browser on
the platform's own machine reaches.</p>
<ul>
<li>Through an SSH tunnel: <code>ssh -L ${port === '' ? '80' : port.slice(1)}:127.0.0.1:${port === '' ? '80' : port.slice(1)} &lt;the platform's machine&gt;</code>,
then open <a href="${local}">${local}</a> here.</li>
<li>Or start the platform with <code>FP_BASE_DOMAIN</code> set to a name whose subdomains resolve to its machine
(a wildcard DNS record, <code>*.platform.example.com</code>); the console is then at
<code>http://${CONSOLE_HOST}.platform.example.com${port}/console/</code>.</li>
<li>Or <code>FP_BASE_DOMAIN=none</code>: the console at <code>/console/</code> of this address, on the functions' origin
(sign out before opening a function's page; docs/console.md).</li>
</ul>
`;
  return {
    status: 200,
    headers: [['content-type', 'text/html; charset=utf-8'], ['cache-control', 'no-store'], ['content-security-policy', "default-src 'none'"], ['x-frame-options', 'DENY']],
    body: page,
  };
}
