// Ending a connection iamgate gives up on, in bounded time, without losing what was written to it:
// a socket closed while the client's bytes are still unread makes the kernel send RST, and a client
// that gets RST may never read the answer written just before. So the socket is ended (FIN after
// what was written), what the client sends meanwhile is read and dropped, and it is destroyed soon
// after, or at a deadline when the answer never gets out.
import type { Duplex } from 'node:stream';

/** After a refusal has been written out, how long the client may still read it before the socket is destroyed, ms. */
export const REFUSED_LINGER_MS = 250;
/** Longest a refused socket stays open after its answer was handed to it (a client that does not read), ms. */
export const REFUSED_DEADLINE_MS = 2000;

/**
 * Writes `answer` (when given) and ends the socket, then destroys it shortly after the answer is
 * out, or at the deadline if it never gets out. Whatever the client sends meanwhile is read and
 * dropped, so a client that keeps writing or never closes its side cannot hold the descriptor.
 */
export function endRefused(socket: Duplex, answer?: string): void {
  if (socket.destroyed) return;
  const destroy = (): void => {
    socket.destroy();
  };
  const deadline = setTimeout(destroy, REFUSED_DEADLINE_MS);
  deadline.unref();
  let linger: NodeJS.Timeout | undefined;
  socket.once('close', () => {
    clearTimeout(deadline);
    clearTimeout(linger);
  });
  socket.on('error', destroy);
  socket.resume();
  const written = (): void => {
    clearTimeout(deadline);
    linger = setTimeout(destroy, REFUSED_LINGER_MS);
    linger.unref();
  };
  if (answer === undefined) socket.end(written);
  else socket.end(answer, written);
}

