// Refused upgrade requests of every kind iamgate answers on the raw socket, and a client that
// writes one more byte after the answer and never closes its side (the descriptor-holding attack).
import net from 'node:net';

export const WEBSOCKET = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/**
 * Sends `payload`, writes one more byte once the answer has begun to arrive, and never ends or
 * closes its side. Resolves with the answer's status once the server has closed the connection,
 * or -1 if it has not within `patienceMs` (the descriptor is then held: what the test must catch).
 */
export function refusedOnce(port: number, payload: string, o: { patienceMs?: number; onAnswer?: () => void } = {}): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let head = '';
    let status = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(-1);
    }, o.patienceMs ?? 15_000);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      if (status !== 0) return;
      head += d;
      if (head.length < 12) return;
      status = Number(head.slice(9, 12));
      socket.write('x');
      o.onAnswer?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(status);
    });
    socket.on('connect', () => socket.write(payload));
  });
}

const filler = (n: number): string => Array.from({ length: n }, (_, i) => `x-f${i}: ${i}\r\n`).join('');

export interface RefusalKind {
  readonly name: string;
  readonly status: number;
  /** The reason label of iamgate_refused_connections_total. */
  readonly reason: string;
  readonly payload: () => string;
}

/** Every kind of refused upgrade; `denied` is the Authorization value of a caller the policies deny /ws. */
export function refusalKinds(denied: () => string): readonly RefusalKind[] {
  return [
    { name: 'a WebSocket upgrade without a token', status: 401, reason: 'unauthenticated', payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\n${WEBSOCKET}\r\n` },
    { name: 'a WebSocket upgrade the policies deny', status: 403, reason: 'access_denied', payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\nAuthorization: ${denied()}\r\n${WEBSOCKET}\r\n` },
    {
      name: 'an h2c upgrade',
      status: 400,
      reason: 'unsupported_upgrade',
      payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    },
    { name: 'an upgrade with too many header lines', status: 431, reason: 'too_many_headers', payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\n${WEBSOCKET}${filler(250)}\r\n` },
    { name: 'an upgrade whose header block is too large', status: 431, reason: 'headers_too_large', payload: () => `GET /ws HTTP/1.1\r\nHost: x\r\n${WEBSOCKET}X-Pad: ${'a'.repeat(20_000)}\r\n\r\n` },
  ];
}

