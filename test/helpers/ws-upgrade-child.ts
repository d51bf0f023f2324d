/**
 * A child process for test/integration/uws-adapter-upgrade.test.ts: a server (gateway/uws-adapter.ts)
 * answering each WebSocket handshake a moment later (as the gateway does, after the function's
 * 101) with a connection that sends "hi" and closes 4001 at once, and `WS_CHILD_CONNECTIONS`
 * clients that each must read both frames. Prints the close codes seen, counted, as JSON. A child,
 * so that what the native binding writes to stderr can be read by the test.
 */
import { startHttpServer } from '../../gateway/uws-adapter.js';
import type { WebSocketLink, WebSocketSide } from '../../gateway/websocket.js';
import { RawWebSocket } from './ws-client.js';

function byeLink(): WebSocketLink {
  return {
    protocol: '',
    open(side: WebSocketSide): void {
      side.send(Buffer.from('hi'), false);
      side.end(4001, 'done');
    },
    message: () => undefined,
    drained: () => undefined,
    gone: () => undefined,
  };
}

const server = await startHttpServer({
  host: '127.0.0.1',
  port: 0,
  maxBodyBytes: 1024,
  handle: (req) => new Promise((resolve) => setImmediate(() => resolve(req.upgradable === true
    ? { status: 101, headers: [['x-run-id', 'r'.repeat(36)]], body: '', websocket: byeLink() }
    : { status: 404, headers: [], body: '' }))),
  onError: () => ({ status: 500, headers: [], body: '' }),
});
const seen: Record<string, number> = {};
const total = Number(process.env.WS_CHILD_CONNECTIONS ?? 200);
for (let done = 0; done < total; done += 10) {
  // Plain requests on their own connections between the upgrades: sockets of the HTTP size come and go, as in a gateway.
  const [batch] = await Promise.all([
    Promise.all(Array.from({ length: 10 }, () => RawWebSocket.connect(`ws://127.0.0.1:${server.port}/x`, { answerClose: true }))),
    Promise.all(Array.from({ length: 10 }, () => fetch(`http://127.0.0.1:${server.port}/plain`, { headers: { connection: 'close' } }).then((r) => r.arrayBuffer()))),
  ]);
  for (const ws of batch) {
    const end = await ws.closed(10_000);
    const key = `${end.code} ${end.before.map((e) => (e.kind === 'text' ? e.text : e.kind)).join(',')}`;
    seen[key] = (seen[key] ?? 0) + 1;
  }
}
server.closeAll();
process.stdout.write(`${JSON.stringify(seen)}\n`);
process.exit(0);
