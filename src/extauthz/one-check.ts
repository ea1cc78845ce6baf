// Check is a unary method: one CheckRequest per call. A client that is not Envoy can still end a
// call before sending one, or send a second; grpc-js would then fail the call (UNIMPLEMENTED)
// before any handler runs, leaving no record, and a failed call is what Envoy's failure mode
// answers. This interceptor sees each Check call's messages as they are read and hands such a
// call to iamgate instead, which answers it (a denial) and records it like any refused check.
import { ServerInterceptingCall, type Metadata, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';

/** What a call tells the layer above it (grpc-js does not export the type by name). */
type InterceptingServerListener = Parameters<ServerInterceptingCallInterface['start']>[0];

/** How many CheckRequests a call carried when it was not one. */
export type CheckCount = 'none' | 'several';

/**
 * Answers a call that did not carry exactly one CheckRequest: `call` is the call's own (its
 * answer goes there; nothing reaches Check's handler), `gaveUp` says whether the client has since
 * abandoned it.
 */
export type WrongCountAnswer = (call: ServerInterceptingCallInterface, count: CheckCount, gaveUp: () => boolean) => void;

/**
 * One Check call between grpc-js and the unary handler: it passes the first message and the end of
 * the call on, and turns a call that ends with none, or brings a second, over to `answer`. It is
 * its own listener of the call below it and overrides every method it inherits (grpc-js's type for
 * an interceptor's result is its class; the class's own path would add a listener object and a
 * closure per event), so a check that carries one message, as every check Envoy sends does, costs
 * two small objects (this one and the `responder` its base class builds) and a few forwarding calls.
 */
class OneCheckCall extends ServerInterceptingCall implements InterceptingServerListener {
  private listener: InterceptingServerListener | undefined;
  private messages = 0;
  private cancelled = false;

  constructor(
    private readonly below: ServerInterceptingCallInterface,
    private readonly answer: WrongCountAnswer,
  ) {
    super(below);
  }

  override start(listener: InterceptingServerListener): void {
    this.listener = listener;
    this.below.start(this);
  }

  onReceiveMetadata(metadata: Metadata): void {
    this.listener?.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.messages += 1;
    // The handler has the first; a second makes the call ambiguous: it is answered here, once, and
    // nothing more is read (the handler, still waiting for the end of the call, never runs).
    if (this.messages === 1) this.listener?.onReceiveMessage(message);
    else if (this.messages === 2) this.answer(this.below, 'several', () => this.cancelled);
  }

  // The end of the call. A call its client closes (END_STREAM, then a reset) or resets ends here
  // too, as it reaches the unary handler: answered and recorded like it, and `gaveUp` then says so.
  onReceiveHalfClose(): void {
    if (this.messages === 1) this.listener?.onReceiveHalfClose();
    else if (this.messages === 0) this.answer(this.below, 'none', () => this.cancelled);
  }

  onCancel(): void {
    this.cancelled = true;
    this.listener?.onCancel();
  }

  override sendMetadata(metadata: Metadata): void {
    this.below.sendMetadata(metadata);
  }

  override sendMessage(message: unknown, callback: () => void): void {
    this.below.sendMessage(message, callback);
  }

  override sendStatus(status: Parameters<ServerInterceptingCallInterface['sendStatus']>[0]): void {
    this.below.sendStatus(status);
  }

  override startRead(): void {
    this.below.startRead();
  }

  override getPeer(): string {
    return this.below.getPeer();
  }

  override getDeadline(): ReturnType<ServerInterceptingCallInterface['getDeadline']> {
    return this.below.getDeadline();
  }

  override getHost(): string {
    return this.below.getHost();
  }

  override getAuthContext(): ReturnType<ServerInterceptingCallInterface['getAuthContext']> {
    return this.below.getAuthContext();
  }

  override getConnectionInfo(): ReturnType<ServerInterceptingCallInterface['getConnectionInfo']> {
    return this.below.getConnectionInfo();
  }

  override getMetricsRecorder(): ReturnType<ServerInterceptingCallInterface['getMetricsRecorder']> {
    return this.below.getMetricsRecorder();
  }
}

/** The interceptor for the unary method at `path`; a call to another method (a health check) passes through as it is. */
export function oneCheckPerCall(path: string, answer: WrongCountAnswer): ServerInterceptor {
  return (method, call) => (method.path === path ? new OneCheckCall(call, answer) : new ServerInterceptingCall(call));
}
