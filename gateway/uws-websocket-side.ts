/**
 * An upgraded connection's side (uws-adapter rule 12): what a WebSocketLink sends through, and what
 * uWS keeps with the socket; what it holds for its client counts in the held-answer budget (rule 10).
 */
import type { WebSocket } from 'uWebSockets.js';
import type { ByteBudget, Holder } from './byte-budget.js';
import type { WebSocketLink, WebSocketSide } from './websocket.js';

/** An upgraded socket's side (socketSide): what it holds for its client counts in the held-answer budget. */
export type CountedSide = WebSocketSide & Holder & {
  recount(): void;
  /** The socket closed: nothing may touch it any more. */
  detach(): void;
};

/** What uWS keeps with an upgraded socket. */
export interface SocketData {
  link: WebSocketLink;
  /** The held-answer budget's share its bytes count in (its function's). */
  share: string | null;
  /** Set at `open`: the socket's side, whose bytes the budget counts. */
  side: CountedSide | null;
  /** Its exchange ends with it: a connection counts as in flight until it closes (a graceful stop waits for it). */
  done: () => void;
}

/** What a WebSocketLink sends through: the upgraded socket, valid until its `close` event. */
export function socketSide(ws: WebSocket<SocketData>, budget: ByteBudget): CountedSide {
  let open = true;
  /** Bytes counted in the held-answer budget: what uWS buffers for the client, the message being joined and the client's messages waiting for the app. */
  let counted = 0;
  let joining = 0;
  /** Bytes of the client's messages waiting for room at the app (FunctionSocket). */
  let waiting = 0;
  const side = {
    /** Rule 10: what waits for the client counts in the budget (in its function's share); past it, or too slow while it is half full, the connection goes. */
    recount(): void {
      if (!open) return;
      const now = ws.getBufferedAmount() + joining + waiting;
      if (now > counted) {
        if (!budget.hold(side, now - counted, ws.getUserData().share)) {
          side.cut();
          return;
        }
      } else if (now === 0) budget.release(side); // nothing waits: an idle connection is no slow client (the sweep)
      else if (now < counted) budget.progress(side, now);
      counted = now;
    },
    send(data: Uint8Array, binary: boolean): void {
      if (!open) return;
      ws.send(data, binary);
      side.recount();
    },
    buffered: () => (open ? ws.getBufferedAmount() : 0),
    joined(bytes: number): void {
      joining = bytes;
      side.recount();
    },
    waiting(bytes: number): void {
      waiting = bytes;
      side.recount();
    },
    end(code: number, reason: string): void {
      if (!open) return;
      open = false;
      budget.release(side);
      ws.end(code, reason);
    },
    detach(): void {
      open = false;
    },
    cut(): void {
      side.end(1013, 'the platform holds too much for slow clients: try again later');
    },
  };
  return side;
}
