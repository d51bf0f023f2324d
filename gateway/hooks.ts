/**
 * `POST /hooks/<name>/<triggerId>` (docs/api-invoke.md, "Webhooks"): the trigger is found, the raw
 * body read (async payload limit, 413) and its signature verified BEFORE anything else, the rate
 * limit and the workspace's quota included; a refused request answers 401 with the verdict's code,
 * creates no run and takes nothing of the function's rate limit or its workspace's quota. Accepted: the same durable
 * enqueue as `/async/<name>` (202 + run id, trigger `webhook`), or with `sync` the in-process
 * invoke, answered with the function's response. What a trigger is and how it verifies is the
 * control plane's (the `Webhooks` port); the gateway only orders the steps.
 */
import { isPlatformError, PlatformError, TRIGGER_ID_HEADER, withoutTriggerHeaders, type AsyncCall,type Webhooks } from '../protocol/index.js';
import { edgeOf, invokeDirect, limitVerdict, servable, versionOf, type InvokeDeps } from './invoke.js';

export type { FoundHook, Webhooks } from '../protocol/index.js';
import type { FoundHook, HookRefusal } from '../protocol/index.js';
import { dropOriginWide, errorResponse } from './responses.js';
import type { IncomingRequest, OutgoingResponse } from './http-server.js';

export async function invokeHookHttp(deps: InvokeDeps, hooks: Webhooks | null, req: IncomingRequest, name: string, triggerId: string): Promise<OutgoingResponse> {
  if (req.method !== 'POST') return errorResponse(new PlatformError('ROUTE_NOT_FOUND', `webhooks take POST, not ${req.method}`));
  const found = deps.registry.resolve(name);
  if (!found.found) return errorResponse(new PlatformError('FUNCTION_NOT_FOUND', `no function named "${name}"`, { function: name }));
  if (hooks === null) return errorResponse(new PlatformError('ASYNC_NOT_ENABLED', 'this process has no webhook triggers'));
  try {
    const hook = await hooks.find(name, triggerId);
    if (hook === null) {
      return errorResponse(new PlatformError('TRIGGER_NOT_FOUND', `function "${name}" has no webhook trigger "${triggerId}" in its active version (its owner lists them with \`fastapi-platform triggers ${name}\`)`, { function: name, triggerId }));
    }
    const body = await req.body();
    const refused = await hook.verify(req.headers, body);
    if (refused !== null) return errorResponse(new PlatformError(refused.code, refusal(refused, hook.style ?? 'github', name, triggerId), { function: name, triggerId }));
    // Verified (and, Stripe style, recorded as seen): a delivery refused from here on, or whose run
    // could not be queued, is forgotten again, so the sender's retry of it is no WEBHOOK_REPLAYED
    // (reliability round 3: a 503 while paused, then 401 for ever for the same delivery).
    let delivered: OutgoingResponse & { ran?: true };
    try {
      delivered = await deliver(deps, hook, hooks, req, name, triggerId, found, body);
    } catch (err) {
      await hook.release();
      throw err;
    }
    const { ran, ...answer } = delivered;
    if (ran !== true) await hook.release();
    return answer;
  } catch (err) {
    if (isPlatformError(err)) return errorResponse(err);
    throw err;
  }
}

/** After the signature: the function's rate limit and state, then the run queued (or the sync call made). `ran`: it was. */
async function deliver(
  deps: InvokeDeps, hook: FoundHook, hooks: Webhooks, req: IncomingRequest, name: string, triggerId: string,
  found: ReturnType<InvokeDeps['registry']['resolve']> & { found: true }, body: Uint8Array,
): Promise<OutgoingResponse & { ran?: true }> {
  // The function's rate limit and its workspace's quota only once the sender is known to hold the
  // secret: before (red team 7), unsigned posts by anyone took them, and the workspace's every
  // call (`/fn` with its invoke token included) was refused 429 for the rest of the minute.
  const limited = await limitVerdict(deps, found.limit, name); // counted in fp_invocations_refused_total
  if (limited !== null) return errorResponse(limited);
  // Verified: now the function's own state decides (paused 503, nothing deployed 404).
  const now = deps.registry.resolve(name);
  if (!now.found) return errorResponse(new PlatformError('FUNCTION_NOT_FOUND', `no function named "${name}"`, { function: name }));
  const fn = servable(now, name);
  if (fn instanceof PlatformError) return errorResponse(fn);
  if (deps.graceOver()) return errorResponse(new PlatformError('SHUTTING_DOWN', 'the gateway is shutting down'));
  // The client and scheme a trusted proxy reported, its forwarding headers consumed, as for `/fn/`.
  const { headers: seen, origin } = edgeOf(deps, req, req.headers);
  const call: AsyncCall = { method: 'POST', path: hook.path ?? '/', rawQuery: req.rawQuery, headers: seen, body, origin, ...versionOf(req) };
  if (hook.sync) {
    // As an async delivery's run does (controlplane/async/runs/service.ts): the handler sees which
    // trigger called it, never a value the sender put there.
    const headers: [string, string][] = [...withoutTriggerHeaders(seen), [TRIGGER_ID_HEADER, triggerId]];
    const result = await invokeDirect(deps, name, { ...call, headers, signal: req.signal }, 'webhook');
    // Served on the platform host's origin, as `/fn/<key>/` is (responses.ts).
    const answer = [...result.headers];
    dropOriginWide(answer, `/hooks/${name}/`);
    // Unread, it counts in its function's share of the held answers, as a `/fn/` answer does: it
    // counted in none, so a tenant's signed posts that never read their answers held the whole
    // budget (red team round 7).
    return { status: result.status, headers: answer, body: result.body, ran: true, heldShare: name };
  }
  const accepted = await hooks.submit(name, triggerId, call);
  const statusUrl = `/api/v1/runs/${accepted.runId}`;
  return {
    ran: true,
    status: 202,
    headers: [['content-type', 'application/json'], ['x-run-id', accepted.runId], ['location', statusUrl]],
    body: JSON.stringify({ runId: accepted.runId, statusUrl }),
  };
}

/**
 * Why a delivery was refused, in words a sender's owner can act on: "webhook refused:
 * WEBHOOK_SIGNATURE_MISSING" alone said nothing of the header expected or where the secret comes
 * from (docs/adr/0048-newcomer-round-3.md). Names only what the URL and the style already tell; a
 * header of the wrong shape or sent twice is said as such (the shape is public), apart from one that
 * matches no secret (ADR 0208).
 */
function refusal({ code, detail }: HookRefusal, style: 'github' | 'stripe', name: string, triggerId: string): string {
  const header = style === 'stripe' ? 'Stripe-Signature' : 'X-Hub-Signature-256';
  const shape = style === 'stripe' ? '`t=<unix seconds>,v1=<64 hex digits>`' : '`sha256=<64 hex digits>`';
  const secret = `the trigger's secret (its owner gets it with \`fastapi-platform triggers rotate-secret ${name} ${triggerId}\`, docs/triggers.md)`;
  switch (code) {
    case 'WEBHOOK_SIGNATURE_MISSING': return `webhook refused: no ${header} header (a ${style}-style trigger); the sender signs each delivery's body with ${secret}`;
    case 'WEBHOOK_SIGNATURE_INVALID':
      if (detail === 'repeated') return `webhook refused: the ${header} header came more than once; send it once, signed with ${secret}`;
      if (detail === 'malformed') return `webhook refused: the ${header} header is not of the form ${shape} (a ${style}-style trigger); sign the raw body with ${secret}`;
      return `webhook refused: the ${header} signature matches no secret in force (rotated since? the body changed on the way? another trigger's secret?); sign the raw body with ${secret}`;
    case 'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE': return `webhook refused: the ${header} timestamp is outside the trigger's tolerance (a delayed delivery, or a clock off)`;
    case 'WEBHOOK_REPLAYED': return 'webhook refused: this signed delivery was already accepted (a replay)';
    default: return `webhook refused: ${code}`;
  }
}
