/**
 * What the app is told when uWS fails a client's WebSocket connection itself (close code 1006, no
 * close frame to the client, a reason in uWS's own words): the code an ASGI app under uvicorn
 * (websockets or wsproto) gets for the same client, RFC 6455 §7.4.1, with the reason in ours.
 * uWS's words were passed on as they were: an app that keeps a chat's session for a client whose
 * network dropped (1006) did so for one that sent a text message that is not UTF-8 (uvicorn: 1007)
 * or an invalid frame (uvicorn: 1002) (apps round 27; 1009 since oddfn round 2).
 */

/** uWS's reason → the code and the reason the app is told; `{max}` is FP_WS_MAX_MESSAGE_BYTES. */
const FAILURES: ReadonlyMap<string, readonly [number, string]> = new Map([
  ['Received too big message', [1009, 'the client sent a message larger than {max} bytes (FP_WS_MAX_MESSAGE_BYTES)']],
  ['Received too big message, or other inflation error', [1009, 'the client sent a message larger than {max} bytes (FP_WS_MAX_MESSAGE_BYTES)']],
  ['Received invalid UTF-8', [1007, 'the client sent a text message that is not UTF-8']],
  ['Received invalid WebSocket frame', [1002, 'the client sent an invalid WebSocket frame']],
  ['Received invalid close payload', [1002, 'the client sent an invalid close frame (its code or reason)']],
]);

/** The close the app is told for uWS's `close(code, reason)`: uWS's own failures mapped, any other as it is. */
export function appClose(code: number, reason: string, maxMessageBytes: number): { code: number; reason: string } {
  const failure = code === 1006 ? FAILURES.get(reason) : undefined;
  if (failure === undefined) return { code, reason };
  return { code: failure[0], reason: failure[1].replace('{max}', String(maxMessageBytes)) };
}
