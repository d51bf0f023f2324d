/**
 * The one place another HTTP surface plugs into the gateway's server: an API mounted under
 * `/api/` (the control plane). The mounted handler sees plain data — no uWS, no gateway types —
 * so it stays framework-agnostic; this module turns the adapter's request into it and its answer
 * back. Why the API shares the gateway's server: docs/adr/0004-controlplane-in-gateway.md.
 */
import type { MountedApi, Pairs, PlainRequest, PlainResponse } from '../protocol/index.js';

export type { MountedApi, PlainRequest, PlainResponse };
import type { IncomingRequest, OutgoingResponse } from './http-server.js';

/**
 * Calls the mounted API. A request whose body the handler never read (e.g. refused for its token
 * before the upload was looked at), or could not read, closes the connection after the answer:
 * the unread bytes must not be parsed as the next request.
 */
export async function serveMounted(api: MountedApi, req: IncomingRequest): Promise<OutgoingResponse> {
  // An object, so the closure's writes are visible to the checks below (TS narrows a `let` too eagerly).
  const body: { state: 'unread' | 'read' | 'failed' } = { state: 'unread' };
  const plain: PlainRequest = {
    method: req.method,
    path: req.url,
    query: req.rawQuery,
    headers: req.headers,
    signal: req.signal,
    // Copied now, before anything awaits: the socket's address is gone once the response ends.
    remoteAddress: req.peer,
    body: () => {
      body.state = 'read';
      return req.body().catch((err: unknown) => {
        body.state = 'failed';
        throw err;
      });
    },
  };
  const out = await api.handle(plain);
  const unread = body.state === 'failed' || (body.state === 'unread' && hasBody(req.headers));
  return unread ? { ...out, closeConnection: true } : out;
}

function hasBody(headers: Pairs): boolean {
  for (const [key, value] of headers) {
    if (key === 'transfer-encoding') return true;
    if (key === 'content-length' && value !== '0') return true;
  }
  return false;
}
