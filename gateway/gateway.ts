/**
 * The gateway: routes, health, metrics and invocations over one uWS server. The caller owns the
 * pool (starts it before, closes it after); the gateway owns its server, metrics and run batching.
 */
import type { Registry } from 'prom-client';
import { ALL_METRICS, PlatformError, workspaceOfKey, WORKSPACE_SHARE_PREFIX, type LogTap, type MetricsView, type Pairs, type ReadinessProblem, type RunTrigger } from '../protocol/index.js';
import { admitDirect, invokeAsyncHttp, invokeDirect, invokeHttp, type AsyncIntake, type DirectRequest, type DirectResult, type InvokeDeps } from './invoke.js';
import { invokeHookHttp, type Webhooks } from './hooks.js';
import { GatewayMetrics } from './metrics.js';
import { seesPlatformSeries } from './metrics-view.js';
import { serveMounted, type MountedApi } from './mount.js';
import type { InvocationPool, PoolStats, StartHealth } from './pool.js';
import type { FunctionRegistry } from './registry.js';
import { errorResponse, jsonResponse } from './responses.js';
import { TrustedProxies } from './peer.js';
import { hostRoute, localHost, route, type HostRoute, type Route } from './routes.js';
import { RunBatcher, type RunSink } from './runs.js';
import { serveStatic, type StaticSite } from './static-site.js';
import { consoleElsewhere } from './console-origin.js';
import { fileLimitProblem } from './file-limit.js';
import { slashRedirect, varyOnAccept } from './slash-redirect.js';
import type { IncomingRequest, OutgoingResponse } from './http-server.js';
import { startHttpServer } from './uws-adapter.js';

/** After the grace, how long the calls it ended may take to answer before the connections close. */
const ABORT_ANSWER_MS = 1_000;

/** Where and how the gateway listens (the platform's configuration has them: platform/config.ts). */
export interface GatewaySettings {
  readonly host: string;
  /** TCP port; 0 picks any free port (the gateway's `port` says which). */
  readonly port: number;
  /** Largest accepted request body; larger → 413 PAYLOAD_TOO_LARGE. */
  readonly maxBodyBytes: number;
  /**
   * Response bytes held for clients that have not read them yet, all connections together; past
   * it a response that cannot be written at once is cut (docs/gateway.md, "Slow clients"). Default 1 GiB.
   */
  readonly maxHeldResponseBytes?: number;
  /** SO_SNDBUF of each client connection (docs/gateway.md, "Slow clients"; 0: the kernel's). Default 512 KiB. */
  readonly sendBufferBytes?: number;
  /**
   * Request body bytes being received, all connections together; past it a body is refused with
   * 503 GATEWAY_OVERLOADED (docs/gateway.md, "Slow clients"). Default 512 MiB.
   */
  readonly maxBodyBytesInFlight?: number;
  /**
   * What upgraded WebSocket connections reserve together for a client message being received
   * (each its `wsMaxMessageBytes`); past it, or a function's quarter or a workspace's half, a
   * handshake is refused with 503 GATEWAY_OVERLOADED (ADR 0198). Default an eighth of the memory.
   */
  readonly maxWsReservedBytes?: number;
  /** The largest message a WebSocket client may send (uWS drops the connection past it: 1006 to the client, 1009 to the app). Default 1 MiB. */
  readonly wsMaxMessageBytes?: number;
  /** The slow-client window (HttpServerOptions.slowClientWindowMs); no option sets it, only tests. Default 10 s. */
  readonly slowClientWindowMs?: number;
  /** On close, how long in-flight requests may take to finish. */
  readonly shutdownGraceMs: number;
  /**
   * Host routing: `<key>.<baseDomain>` serves the function `<key>` at `/` (docs/adr/0020-addressing.md).
   * null or absent: path routing only. The platform's default is `localhost` (FP_BASE_DOMAIN).
   */
  readonly baseDomain?: string | null;
  /** Addresses and CIDR ranges whose Forwarded / X-Forwarded-* headers are applied; absent: none (FP_TRUSTED_PROXIES). */
  readonly trustedProxies?: readonly string[];
  /**
   * Answer only requests whose Host names this machine (routes.ts `localHost`), others 421
   * HOST_NOT_LOCAL: `dev` and `up` set it when they listen on loopback, against DNS rebinding (ADR 0122).
   */
  readonly localHostsOnly?: boolean;
}

export interface GatewayOptions {
  config: GatewaySettings;
  /** A started pool (poolmgr's PoolManager); the gateway never closes it. */
  pool: InvocationPool;
  registry: FunctionRegistry;
  runSink: RunSink;
  /** An API served under `/api/` on the same server (the control plane); none: 404 there. */
  api?: MountedApi;
  /** Where internal errors are reported (default: stderr). */
  log?: (line: string) => void;
  /** Where `/async/<name>` queues calls, and their body limit; none: 503 ASYNC_NOT_ENABLED there. */
  async?: { intake: AsyncIntake; maxBodyBytes: number };
  /** Where `/hooks/<name>/<id>` finds triggers (bodies up to the async limit); none: 503 ASYNC_NOT_ENABLED there. */
  hooks?: Webhooks;
  /**
   * The registry `/metrics` serves; the gateway adds its families to it. The platform passes the
   * control plane's, so both appear in one exposition. Default: a registry of the gateway's own.
   */
  metricsRegistry?: Registry;
  /**
   * What a `/metrics` scrape may see, from its headers (the control plane's token check,
   * docs/adr/0036-metrics-scope.md); a PlatformError is the answer instead (a bad token: 401).
   * Absent: everything, to anyone (directory mode: one owner, no tokens).
   */
  metricsView?: (headers: Pairs) => MetricsView | PlatformError;
  /**
   * The web console's built files, served under `/console/` (./static-site.ts); null: built
   * nowhere (the route says how to build it); absent: no console route (directory mode).
   */
  console?: StaticSite | null;
  /** What else keeps this process from being ready (e.g. a Redis that does not persist); read on every /readyz. */
  readiness?: () => readonly ReadinessProblem[];
  /** Told when each run ends while its function is tailed (live logs; the pool publishes the lines). */
  logTap?: LogTap;
  /** Whether the data proxy told a function DATA_BACKEND_UNAVAILABLE since a time (InvokeDeps.dataOutage); absent: never. */
  dataOutage?: (functionKey: string, since: number) => boolean;
}

export interface Gateway {
  /** The bound port (the real one when the config asked for 0). */
  readonly port: number;
  /** `http://<host>:<port>` */
  readonly url: string;
  /**
   * Invokes a function from inside the process (the control plane's test invoke): same
   * admission (minus the invoke token), pool, run record and metrics as `/fn/<name>/`.
   * Throws PlatformError FUNCTION_NOT_FOUND / FUNCTION_PAUSED / FUNCTION_NOT_DEPLOYED when nothing ran.
   */
  invoke(name: string, request: DirectRequest, trigger: RunTrigger): Promise<DirectResult>;
  /** The admission of `/fn/<name>/` minus the invoke token, for a call the API makes (Invoker.admit). */
  admit(name: string): PlatformError | null | Promise<PlatformError | null>;
  /**
   * The first step of close(), at once: the listening socket closes (no new connection), /readyz
   * answers 503, and every answer closes its connection; a call on a connection still open is
   * served until the grace ends (ADR 0118), then refused (503 SHUTTING_DOWN).
   */
  stopAccepting(): void;
  /**
   * Graceful stop: stop listening (/readyz 503, each answer closes its connection), let in-flight
   * requests finish for up to shutdownGraceMs, flush run records, close connections.
   */
  close(): Promise<void>;
}

/**
 * Runtimes that fail to start in a row (out of pids, a box that cannot be built; chaos round 3):
 * degraded, as warm instances still serve. No cause here: the start's own words can name the
 * host's paths, and /readyz answers anyone; the operator's log has them.
 */
export function startsProblems(starts: StartHealth | null): ReadinessProblem[] {
  if (starts?.failing === undefined) return [];
  const { since, failures } = starts.failing;
  return [{
    code: 'RUNTIME_UNAVAILABLE',
    degraded: true,
    message: `no runtime could start since ${new Date(since).toISOString()} (${failures} starts in a row failed; the platform's log says why): calls that need a new instance answer RUNTIME_UNAVAILABLE until one starts, warm instances still serve`,
  }];
}

/**
 * Ready: not shutting down, and the pool has (or is making) a generic runtime to specialize; or,
 * with a degraded problem that says why it has none (no descriptor left, starts failing), warm
 * instances that still serve (chaos round 8: `no_runtimes` while they did).
 */
export function isReady(stats: PoolStats, shuttingDown: boolean, explained = false): boolean {
  return !shuttingDown && (stats.generic + stats.spawning > 0 || (explained && stats.warm + stats.busy > 0));
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, pool, registry, api } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const sink = options.runSink;
  const metrics = new GatewayMetrics(pool, {
    ...(options.metricsRegistry !== undefined ? { registry: options.metricsRegistry } : {}),
    ...(sink.dropped ? { sinkDrops: () => sink.dropped!() } : {}),
  });
  const runs = new RunBatcher(options.runSink, (count, reason) => metrics.runDropped(count, reason));
  let shuttingDown = false;
  /**
   * Set when the shutdown grace ends: from then on a call is refused (503 SHUTTING_DOWN). Before,
   * a call that arrives on a connection still open (a client's pooled keep-alive connection: no
   * new one is accepted) is served, and its answer closes the connection (ADR 0118). It was
   * refused from the signal on: every pooled connection idle at the signal took one 503 during
   * the drain (reliability round 4), since uWS gives no way to close an idle connection first.
   */
  let graceOver = false;
  const unsafe = pool.isolation.mode === 'off';
  const trustedProxies = new TrustedProxies(config.trustedProxies ?? []);
  const baseDomain = config.baseDomain ?? null;
  const localHostsOnly = config.localHostsOnly === true;
  const deps: InvokeDeps = {
    pool, registry, metrics, runs, logTap: options.logTap ?? null, trustedProxies, shuttingDown: () => shuttingDown, graceOver: () => graceOver,
    ...(options.dataOutage !== undefined ? { dataOutage: options.dataOutage } : {}),
  };

  // Each request is routed twice, for its body limit on arrival and then to be handled, right after
  // for a request without a body: the last URL's route is kept, so the second pass is a lookup.
  // Routes are pure and never changed, so a stale entry cannot be wrong, only a miss.
  let lastUrl = '';
  let lastRoute: Route = { kind: 'unknown' };
  const routeOf = (url: string): Route => {
    if (url !== lastUrl) {
      lastRoute = route(url);
      lastUrl = url;
    }
    return lastRoute;
  };

  /**
   * An invocation (under `/fn/` on a host that routes none, or at the root of a function's host) is
   * invokeHttp's own promise: no async function around it, whose promise would adopt invokeHttp's
   * (three more microtasks and two promises a request; issue 11). With host routing on (the
   * default, `localhost`) too: the Host is looked at once, here. Everything else goes through `routed`.
   */
  function handle(req: IncomingRequest): Promise<OutgoingResponse> {
    if (localHostsOnly && !localHost(req.headers, baseDomain)) return Promise.resolve(notLocal(req));
    const atRoot = hostRoute(req.headers, baseDomain);
    if (atRoot === null) {
      const r = routeOf(req.url);
      if (r.kind === 'invoke') {
        const redirect = slashRedirect(req, r.name, r.path);
        if (redirect === null) return invokeHttp(deps, req, r.name, r.path);
        if (redirect === 'vary') return invokeHttp(deps, req, r.name, r.path).then(varyOnAccept);
        return Promise.resolve(redirect);
      }
    } else if ('key' in atRoot) {
      return invokeHttp(deps, req, atRoot.key, req.url, '');
    }
    return routed(req, atRoot);
  }

  /** A request whose Host is not this machine's, to a platform on loopback: refused, nothing routed. */
  function notLocal(req: IncomingRequest): OutgoingResponse {
    const host = req.headers.find(([key]) => key === 'host')?.[1] ?? '';
    return errorResponse(new PlatformError('HOST_NOT_LOCAL', `this platform listens on this machine only and answers requests for localhost, <name>.localhost or an IP address, not for the host ${JSON.stringify(host.slice(0, 128))}: open it at http://127.0.0.1:<port>/ (a web page whose name was made to resolve to this machine, DNS rebinding, is refused so); behind a reverse proxy on this machine, set FP_BASE_DOMAIN to the proxy's domain`));
  }

  async function routed(req: IncomingRequest, atRoot: HostRoute): Promise<OutgoingResponse> {
    if (atRoot !== null && !('console' in atRoot)) return serveAtRoot(req, atRoot);
    const onConsoleHost = atRoot !== null;
    const r = routeOf(req.url);
    if (onConsoleHost && (r.kind === 'invoke' || r.kind === 'async' || r.kind === 'hook' || r.kind === 'badFunctionName')) {
      // No function answers on the console's origin: its pages could read the console's token.
      return errorResponse(new PlatformError('ROUTE_NOT_FOUND', `functions are not served on the console's host; use /fn/ on ${baseDomain} or <name>.${baseDomain}`));
    }
    if (r.kind === 'invoke') return invokeHttp(deps, req, r.name, r.path);
    if (r.kind === 'async') return invokeAsyncHttp(deps, options.async?.intake ?? null, req, r.name, r.path);
    if (r.kind === 'hook') return invokeHookHttp(deps, options.hooks ?? null, req, r.name, r.triggerId);
    if (r.kind === 'api' && api) {
      const res = await serveMounted(api, req);
      // Every API answer of an unsandboxed platform says so, and the CLI warns (docs/security.md).
      if (unsafe) res.headers = [...res.headers, ['x-fp-sandbox', 'off']];
      return res;
    }
    if (r.kind === 'console' && options.console !== undefined) {
      // With host routing on, the console lives on its own origin (console.<base domain>).
      if (baseDomain !== null && !onConsoleHost && (req.method === 'GET' || req.method === 'HEAD')) {
        return consoleElsewhere(baseDomain, req.headers, req.url);
      }
      if (baseDomain === null || onConsoleHost) return serveStatic(options.console, req.method, req.url, req.headers);
    }
    if (r.kind === 'badFunctionName') {
      return errorResponse(new PlatformError('FUNCTION_NOT_FOUND', `no function named "${r.name}"`, { function: r.name }));
    }
    if (r.kind === 'unknown' || r.kind === 'api' || r.kind === 'console' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      // Said where things are: a newcomer opens the banner's URL (`/`) in a browser first.
      const where = ['functions answer at /fn/<name>/ (async calls: POST /async/<name>/)', ...(api ? ['the API at /api/v1/'] : []), ...(options.console !== undefined ? ['the console at /console/'] : [])];
      return errorResponse(new PlatformError('ROUTE_NOT_FOUND', `no route for ${req.method} ${req.url}: ${where.join(', ')}`));
    }
    switch (r.kind) {
      case 'healthz':
        return jsonResponse(200, { status: 'ok' });
      case 'readyz': {
        const stats = pool.stats();
        // Per-function entries name every workspace's functions: like /metrics, only a view of
        // everything (the admin token; directory mode) sees them (docs/adr/0036-metrics-scope.md).
        // The totals, the starts and the number of functions are the platform's load, every
        // tenant's: told as /metrics' platform series are (ADR 0139; red team round 49). /readyz
        // answers anyone, so a token that does not pass is read as none.
        const asked = options.metricsView?.(req.headers) ?? ALL_METRICS;
        const view = asked instanceof PlatformError ? (options.metricsView?.([]) ?? ALL_METRICS) : asked;
        const load = !(view instanceof PlatformError) && seesPlatformSeries(view);
        const { functions: _perFunction, scaledToZero: _scaled, ...counts } = stats;
        const starts = pool.startHealth?.() ?? null;
        const outOfFiles = fileLimitProblem();
        const problems = [...(options.readiness?.() ?? []), ...startsProblems(starts), ...(outOfFiles !== null ? [outOfFiles] : [])];
        // A degraded problem is told, not refused: the process serves invocations (ports.ts).
        const blocking = problems.filter((p) => p.degraded !== true).length;
        // Why no generic runtime can be made: then warm instances keep it ready (and degraded).
        const noStarts = problems.some((p) => p.code === 'PLATFORM_FILE_LIMIT' || p.code === 'RUNTIME_UNAVAILABLE');
        const ready = isReady(stats, shuttingDown, noStarts) && blocking === 0;
        return jsonResponse(ready ? 200 : 503, {
          status: ready ? (problems.length > 0 ? 'degraded' : 'ready') : shuttingDown ? 'shutting_down' : blocking > 0 ? 'not_ready' : 'no_runtimes',
          // Each problem names its registry code and what fixes it (docs/gateway.md, "Routes").
          problems,
          ...(load ? { functions: registry.list().length } : {}),
          ...(load ? { pool: !(view instanceof PlatformError) && view.kind === 'all' ? stats : counts } : {}),
          // Runtimes that could not start and zygotes bypassed (reliability round 8): not per function.
          ...(starts !== null && load ? { starts } : {}),
          // 'off' means every function can read and change the platform: never hidden (docs/security.md).
          sandbox: { ...pool.isolation, unsafe: pool.isolation.mode === 'off' },
        });
      }
      case 'metrics': {
        const view = options.metricsView?.(req.headers) ?? ALL_METRICS;
        if (view instanceof PlatformError) return errorResponse(view);
        const { contentType, body } = await metrics.render(view);
        return { status: 200, headers: [['content-type', contentType]], body };
      }
    }
  }

  /** A request to `<key>.<baseDomain>`: every path belongs to the function, served at its root. */
  function serveAtRoot(req: IncomingRequest, host: { key: string } | { bad: string }): Promise<OutgoingResponse> | OutgoingResponse {
    if ('bad' in host) return errorResponse(new PlatformError('FUNCTION_NOT_FOUND', `no function named "${host.bad}"`, { function: host.bad }));
    return invokeHttp(deps, req, host.key, req.url, '');
  }

  const server = await startHttpServer({
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    ...(config.maxHeldResponseBytes !== undefined ? { maxHeldResponseBytes: config.maxHeldResponseBytes } : {}),
    ...(config.sendBufferBytes !== undefined ? { sendBufferBytes: config.sendBufferBytes } : {}),
    ...(config.maxBodyBytesInFlight !== undefined ? { maxBodyBytesInFlight: config.maxBodyBytesInFlight } : {}),
    ...(config.maxWsReservedBytes !== undefined ? { maxWsReservedBytes: config.maxWsReservedBytes } : {}),
    ...(config.wsMaxMessageBytes !== undefined ? { wsMaxMessageBytes: config.wsMaxMessageBytes } : {}),
    ...(config.slowClientWindowMs !== undefined ? { slowClientWindowMs: config.slowClientWindowMs } : {}),
    bodyLimit: (method, url, headers) => {
      const host: HostRoute = hostRoute(headers, baseDomain);
      if (host !== null && !('console' in host)) return config.maxBodyBytes;
      const kind = routeOf(url).kind;
      if (api && kind === 'api') return api.bodyLimit(method, url);
      if ((kind === 'async' || kind === 'hook') && options.async) return options.async.maxBodyBytes;
      return config.maxBodyBytes;
    },
    // A function's calls hold at most a quarter of the body budget (docs/gateway.md, "Slow clients").
    bodyShare: (url, headers) => {
      const host: HostRoute = hostRoute(headers, baseDomain);
      if (host !== null) return 'key' in host ? host.key : null;
      const r = routeOf(url);
      return r.kind === 'invoke' || r.kind === 'async' || r.kind === 'hook' ? r.name : null;
    },
    // A workspace's bodies (its functions') and held answers (its functions' and its API answers)
    // hold at most half of each budget.
    shareGroup: (share) => (share.startsWith(WORKSPACE_SHARE_PREFIX) ? share.slice(WORKSPACE_SHARE_PREFIX.length) : workspaceOfKey(share)),
    handle,
    onError(err) {
      log(`gateway: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return errorResponse(new PlatformError('INTERNAL_ERROR'));
    },
  });

  let closing: Promise<void> | null = null;
  const stopAccepting = (): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    server.stopListening();
  };
  return {
    port: server.port,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}`,
    invoke: (name, request, trigger) => invokeDirect(deps, name, request, trigger),
    admit: (name) => admitDirect(deps, name),
    stopAccepting,
    close() {
      closing ??= (async () => {
        stopAccepting();
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, config.shutdownGraceMs);
        });
        const idle = await Promise.race([server.idle().then(() => true), grace.then(() => false)]);
        clearTimeout(timer);
        graceOver = true;
        if (!idle && deps.pool.abortCalls !== undefined) {
          // Calls still running get their answer (503 SHUTTING_DOWN) and their run record before
          // the connections close: they were cut with neither (reliability round, 2026-12-05).
          deps.pool.abortCalls();
          await Promise.race([server.idle(), new Promise<void>((resolve) => setTimeout(resolve, ABORT_ANSWER_MS).unref())]);
        }
        runs.closeBatching();
        server.closeAll();
      })();
      return closing;
    },
  };
}
