/**
 * The close an app is told when uWS fails a client's WebSocket itself (gateway/ws-client-failures.ts):
 * uvicorn's code for the same client, not uWS's 1006 and its own words (apps round 27).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appClose } from '../../gateway/ws-client-failures.js';

test('uWS\'s own failures become the codes uvicorn\'s app gets; any other close is passed on as it is', () => {
  assert.deepEqual(appClose(1006, 'Received invalid UTF-8', 1024), { code: 1007, reason: 'the client sent a text message that is not UTF-8' });
  assert.equal(appClose(1006, 'Received invalid WebSocket frame', 1024).code, 1002);
  assert.equal(appClose(1006, 'Received invalid close payload', 1024).code, 1002);
  assert.deepEqual(appClose(1006, 'Received too big message', 1024), { code: 1009, reason: 'the client sent a message larger than 1024 bytes (FP_WS_MAX_MESSAGE_BYTES)' });
  // A network drop stays 1006; a client's own close keeps its code and reason, whatever they say.
  assert.deepEqual(appClose(1006, 'Received TCP FIN before WebSocket close frame', 1024), { code: 1006, reason: 'Received TCP FIN before WebSocket close frame' });
  assert.deepEqual(appClose(4000, 'Received invalid UTF-8', 1024), { code: 4000, reason: 'Received invalid UTF-8' });
  assert.deepEqual(appClose(1006, 'constructor', 1024), { code: 1006, reason: 'constructor' });
});
