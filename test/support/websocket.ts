// A real WebSocket client (undici's) for tunnel tests: opens a tunnel through the gateway with a
// bearer token, sends text and waits for the test upstream's echo, and reports how the tunnel
// closed (the close frame's code and reason, or 1006 when the connection was cut without one).
import { WebSocket } from 'undici';

export interface TunnelClose {
  readonly code: number;
  readonly reason: string;
  /** Epoch ms when the client saw the close. */
  readonly at: number;
}

export interface TestTunnel {
  /** Sends `text` and resolves with the next message (the echo upstream answers `echo:<text>`). */
  echo(text: string): Promise<string>;
  /** Resolves once the tunnel has closed, however it closed. */
  readonly closed: Promise<TunnelClose>;
  isOpen(): boolean;
  close(): void;
}

/** Opens a WebSocket to `url` (http:// or ws://) with `authorization`; rejects when the handshake fails. */
export function openTunnel(url: string, authorization: string): Promise<TestTunnel> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers: { authorization } });
  let waiting: ((text: string) => void) | undefined;
  ws.addEventListener('message', (e) => {
    const deliver = waiting;
    waiting = undefined;
    deliver?.(String(e.data));
  });
  const closed = new Promise<TunnelClose>((resolve) => {
    ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason, at: Date.now() }));
  });
  return new Promise((resolve, reject) => {
    const onError = (): void => reject(new Error(`the WebSocket handshake with ${url} failed`));
    ws.addEventListener('error', onError);
    ws.addEventListener('open', () => {
      ws.removeEventListener('error', onError);
      resolve({
        echo(text) {
          return new Promise<string>((res, rej) => {
            if (ws.readyState !== WebSocket.OPEN) {
              rej(new Error('the tunnel is not open'));
              return;
            }
            waiting = res;
            void closed.then(() => rej(new Error('the tunnel closed before the echo')));
            ws.send(text);
          });
        },
        closed,
        isOpen: () => ws.readyState === WebSocket.OPEN,
        close: () => ws.close(),
      });
    });
  });
}
