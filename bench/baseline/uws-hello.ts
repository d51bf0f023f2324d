/**
 * The bare uWebSockets.js server: the floor for the gateway's added latency. Same uWS build
 * the gateway uses; answers every request with `{"ok":true}`.
 * Usage: node dist/bench/baseline/uws-hello.js <port>
 */
import * as uWS from 'uWebSockets.js';

// The unofficial build silently falls back to a JavaScript implementation when its native
// binary cannot load; the native module is the only one with us_socket_local_port.
if (typeof (uWS as { us_socket_local_port?: unknown }).us_socket_local_port !== 'function') {
  console.error('uws-hello: uWebSockets.js App is not the native binary; refusing to run');
  process.exit(2);
}

const port = Number(process.argv[2] ?? '0');
const body = '{"ok":true}';

uWS
  .App()
  .any('/*', (res) => {
    res.cork(() => {
      res.writeHeader('content-type', 'application/json').end(body);
    });
  })
  .listen('127.0.0.1', port, (token) => {
    if (!token) {
      console.error(`uws-hello: could not listen on 127.0.0.1:${port}`);
      process.exit(1);
    }
    console.log(`uws-hello listening on ${uWS.us_socket_local_port(token)}`);
  });
