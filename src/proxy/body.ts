// The request body on its way upstream: streamed, never buffered, counted against the limit.
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { BodyTooLargeError, RequestBodyError } from './errors.js';
import { holdIdleBound, IDLE_REASON, liftIdleBound } from './idle-bound.js';

export type BodyPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'stream'; readonly body: Readable }
  | { readonly kind: 'too_large' }
  | { readonly kind: 'failed'; readonly error: RequestBodyError };

/**
 * Decides how the caller's body goes upstream: none (no Content-Length and not chunked), the
 * incoming stream itself (its Content-Length is within the limit; Node enforces the length), a
 * counting stream that fails past the limit (chunked), or an immediate 413. A streamed body is
 * bounded by `idleMs` (boundIdleBody).
 */
export function planBody(incoming: IncomingMessage, maxBytes: number, idleMs: number): BodyPlan {
  // Failed while the request was decided: detached from its connection (failBody), nothing to stream.
  if (incoming.errored instanceof RequestBodyError) return { kind: 'failed', error: incoming.errored };
  const length = incoming.headers['content-length'];
  const chunked = incoming.headers['transfer-encoding'] !== undefined;
  if (length === undefined && !chunked) return { kind: 'none' };
  if (!chunked) {
    const n = Number(length);
    if (n === 0) return { kind: 'none' };
    if (maxBytes > 0 && n > maxBytes) return { kind: 'too_large' };
    boundIdleBody(incoming, idleMs);
    return { kind: 'stream', body: incoming };
  }
  boundIdleBody(incoming, idleMs);
  if (maxBytes <= 0) return { kind: 'stream', body: incoming };
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(new BodyTooLargeError(maxBytes));
      else done(null, chunk);
    },
  });
  incoming.on('error', (err) => counter.destroy(err));
  return { kind: 'stream', body: incoming.pipe(counter) };
}

/**
 * Fails a request body that can never arrive whole (its deadline passed, its framing broke) with
 * `err`, and leaves the connection open: whatever reads the body (the upstream leg, an endpoint)
 * fails with `err`, so the request's own handler answers it, under its id, and records why. Node
 * destroys the connection with the request unless the request is detached from it first (undici
 * detaches a body it gives up on alike); the caller of failBody bounds the connection's life.
 */
export function failBody(incoming: IncomingMessage, err: RequestBodyError): void {
  (incoming as { socket: IncomingMessage['socket'] | null }).socket = null;
  incoming.destroy(err);
}

/**
 * A caller that sends nothing of its body for `idleMs` while the upstream is ready for more has its
 * socket destroyed, which aborts the upstream request: the upstream connection it holds waits for the
 * body, and undici's own timeouts do not run until the body is sent, so only
 * `listen.requestTimeoutMs` (minutes) bounded it. The bound is lifted while the upstream's
 * back-pressure pauses the body, and once the body has ended; the answer's own bound (a caller that
 * does not read it) is kept apart (idle-bound.ts).
 */
function boundIdleBody(incoming: IncomingMessage, idleMs: number): void {
  const socket = incoming.socket;
  const lift = (): void => liftIdleBound(socket, IDLE_REASON.body);
  incoming.on('resume', () => holdIdleBound(socket, IDLE_REASON.body, idleMs));
  incoming.on('pause', lift);
  incoming.once('end', lift);
}
