/**
 * One GET over a connection of its own, closed after the answer: the body, and the connection's
 * local port (what the server sees as the peer's port; gateway/peer-port.ts).
 */
import { connect } from 'node:net';

export function getOverOwnConnection(host: string, port: number, path: string, hostHeader = 'x'): Promise<[string, number]> {
  return new Promise((resolve, reject) => {
    let local = 0; // the socket's port is gone once it is closed
    const socket = connect(port, host, () => {
      local = socket.localPort!;
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString();
      resolve([text.slice(text.indexOf('\r\n\r\n') + 4), local]);
    });
  });
}
