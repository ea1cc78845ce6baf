// Why forwarding failed, as stable codes. The caller's answer for each (status, body) is the
// one error table (src/errors/table.ts); `client_closed` never reaches a caller (it is gone).

export type ProxyFailure = 'upstream_unavailable' | 'upstream_timeout' | 'body_too_large' | 'client_closed' | 'upgrade_refused' | RequestBodyFailure;

/** Why a request body can never arrive whole: its deadline passed, or its framing broke (an end before the declared length included). */
export type RequestBodyFailure = 'request_timeout' | 'malformed_request';

/** Raised inside the request-body stream when it grows past the configured limit. */
export class BodyTooLargeError extends Error {
  readonly code = 'ERR_BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Raised in a request body that can never arrive whole (failBody), so that what reads it fails
 * with the reason the request is then answered and recorded with.
 */
export class RequestBodyError extends Error {
  readonly code = 'ERR_REQUEST_BODY';
  constructor(readonly failure: RequestBodyFailure) {
    super(failure === 'request_timeout' ? 'the request body did not arrive in time' : 'the request body is not well-formed HTTP');
    this.name = 'RequestBodyError';
  }
}

/** Raised to abort the upstream request when the caller disconnects. */
export class ClientClosedError extends Error {
  readonly code = 'ERR_CLIENT_CLOSED';
  constructor() {
    super('the caller closed the connection');
    this.name = 'ClientClosedError';
  }
}

/** Raised when the upstream ends its answer to an upgrade request without answering it at all. */
export class UpgradeRefusedError extends Error {
  readonly code = 'ERR_UPGRADE_REFUSED';
  constructor() {
    super('the upstream ended the upgrade request without an answer');
    this.name = 'UpgradeRefusedError';
  }
}

/** Raised when the upstream's 101 is not the answer to the WebSocket handshake iamgate sent (websocket-handshake.ts). */
export class UpgradeHandshakeError extends Error {
  readonly code = 'ERR_UPGRADE_HANDSHAKE';
  constructor() {
    super('the upstream switched protocols without answering the WebSocket handshake');
    this.name = 'UpgradeHandshakeError';
  }
}

const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Maps an error from undici (or from the body stream) to a failure code. */
export function classifyProxyError(err: unknown): ProxyFailure {
  if (err instanceof BodyTooLargeError) return 'body_too_large';
  if (err instanceof ClientClosedError) return 'client_closed';
  if (err instanceof RequestBodyError) return err.failure;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUTS.has(code)) return 'upstream_timeout';
  if (err instanceof UpgradeRefusedError) return 'upgrade_refused';
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause instanceof BodyTooLargeError) return 'body_too_large';
  return 'upstream_unavailable';
}

/** A short, secret-free description of an error for logs (its code, else its name). */
export function describeError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
