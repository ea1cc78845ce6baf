// One forwarded request as undici's raw dispatch handler. undici 7's pool speaks the callback set
// below (onConnect, onHeaders, onData, onComplete, onError) natively; a handler with the newer
// controller methods (onRequestStart, onResponseStart, ...) is wrapped in an adapter that parses
// every response's headers into an object first, which nothing here reads. So this class keeps to
// the raw set, and must not gain the newer methods (undici would then wrap it and call neither).
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { endRefused } from './end-socket.js';
import { ClientClosedError } from './errors.js';
import { holdIdleBound, IDLE_REASON, liftIdleBound } from './idle-bound.js';
import { namesNoLength, responseHeaderList, type DeclaredLength, type ResponseHeaderNames } from './response-headers.js';
import { failure, type ProxyResult } from './result.js';

/** Told once how a forwarded request ended: an object the caller keeps its request's state in, not a closure made per request. */
export interface ForwardListener {
  forwarded(result: ProxyResult): void;
}

/**
 * Streams one upstream response into Node's ServerResponse, with back-pressure from the caller's
 * side. When the upstream declared the body's length, the chunk that completes it ends the answer
 * (`end(chunk)`): head, body and end leave in one write, with no second pass for `end` and no
 * deferred uncork; otherwise the answer is ended when undici says the response is complete.
 */
export class ForwardHandler implements Dispatcher.DispatchHandler, DeclaredLength {
  private abortRequest: ((err?: Error) => void) | undefined = undefined;
  private status: number | undefined = undefined;
  /** undici's resume for a paused response, set with the headers. */
  private resume: () => void = noop;
  private settled = false;
  /** Body bytes still to come by the upstream's Content-Length; -1 when it declared none. */
  declaredLength = -1;
  /** The answer was ended by the chunk that completed the declared body. */
  private ended = false;

  constructor(
    private readonly outgoing: ServerResponse,
    private readonly requestId: string,
    private readonly names: ResponseHeaderNames,
    private readonly listener: ForwardListener,
    /** How long the answer may stand still because the caller takes none of it (`upstream.idleTimeoutMs`). */
    private readonly idleTimeoutMs: number,
  ) {
    // A caller gone before forwarding (it hung up while the decision waited) has had its 'close'
    // already: the request is settled now, and onConnect aborts it before a byte goes upstream.
    // Otherwise 'close' also follows a complete answer; by then the handler has settled and ignores it.
    // A response closes once, so a plain listener will do: no once-wrapper (its state and bound function) per request.
    if (outgoing.destroyed) this.clientClosed();
    else outgoing.on('close', () => this.clientClosed());
  }

  private settle(result: ProxyResult): void {
    if (this.settled) return;
    this.settled = true;
    this.listener.forwarded(result);
  }

  private clientClosed(): void {
    if (this.settled || this.outgoing.writableFinished) return;
    const err = new ClientClosedError();
    this.abortRequest?.(err);
    this.settle(failure(err, this.outgoing.headersSent, this.status));
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortRequest = abort;
    if (this.settled) abort(new ClientClosedError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // An informational answer (100, 103) is not relayed; the final one follows.
    if (statusCode < 200 || this.settled) return true;
    this.status = statusCode;
    this.resume = resume;
    this.outgoing.writeHead(statusCode, responseHeaderList(rawHeaders, this.requestId, this.names, this, namesNoLength(statusCode)));
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled || this.ended) return true;
    if (chunk.length === this.declaredLength) {
      this.ended = true;
      this.outgoing.end(chunk);
      return true;
    }
    if (this.declaredLength > 0) this.declaredLength -= chunk.length;
    if (this.outgoing.write(chunk)) return true;
    // The caller reads slower than the upstream sends: undici pauses the upstream socket until drain.
    // undici's body timeout does not run while it is paused, so the caller's side gets the same idle
    // bound: a caller that takes nothing of the answer for idleTimeoutMs has its socket destroyed (no
    // 'timeout' listener), which aborts the upstream request. Without it a caller that never reads
    // would hold its connection and one of the pool's upstream connections for ever.
    if (this.outgoing.socket !== null) holdIdleBound(this.outgoing.socket, IDLE_REASON.answer, this.idleTimeoutMs);
    this.outgoing.once('drain', () => this.drained());
    return false;
  }

  private drained(): void {
    if (this.outgoing.socket !== null) liftIdleBound(this.outgoing.socket, IDLE_REASON.answer);
    this.resume();
  }

  onComplete(): void {
    if (this.settled) return;
    if (!this.ended) this.outgoing.end();
    this.settle({ ok: true, status: this.status ?? 502 });
  }

  onError(err: Error): void {
    if (this.settled) return;
    // A 204 or 304 has no body, whatever Content-Length it names (RFC 9110 §8.6: a 304 may name the
    // length of the representation); undici fails such an answer for the body it never gets. It is
    // whole at its head: the caller gets it, where cutting the connection would leave no answer at all.
    if (isBodilessLengthMismatch(this.status, err)) return this.onComplete();
    const responded = this.outgoing.headersSent;
    // Headers are gone: the only honest signal left is cutting the connection. Node holds a head
    // back until the first body byte: it goes out first, so that an upstream failing right after its
    // head still leaves the caller the answer as far as it came, never a connection closed unanswered.
    // The socket itself is ended (never the response, whose end would pass the body as whole), not
    // destroyed: destroyed with the caller's body still unread, the kernel would answer with RST and
    // the caller could lose the head written just before it. endRefused destroys it in bounded time.
    if (responded) {
      this.outgoing.flushHeaders();
      const socket = this.outgoing.socket;
      if (socket === null) this.outgoing.destroy();
      else {
        // Node's parser reads the socket itself, so bytes the caller sends after the cut may still be
        // parsed; a request parsed there waits behind this unfinished answer and is never decided,
        // recorded or forwarded (the gateway's inTurn, test/adversarial/pipelined-after-cut.test.ts).
        // Dropping the stream's listeners keeps anything else from reading them.
        socket.removeAllListeners('data');
        endRefused(socket);
      }
    }
    this.settle(failure(err, responded, this.status));
  }
}

function noop(): void {}

/** undici's error for an answer whose body is not as long as its Content-Length says, on a 204 or 304 (which has none). */
function isBodilessLengthMismatch(status: number | undefined, err: Error): boolean {
  return (status === 204 || status === 304) && (err as { code?: unknown }).code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH';
}
