// Why forwarding failed, as stable codes with the HTTP status the caller gets.

export type ProxyFailure = 'upstream_unavailable' | 'upstream_timeout' | 'body_too_large' | 'client_closed' | 'upgrade_refused';

/** Status and public title per failure; `client_closed` never reaches a caller (it is gone). */
export const PROXY_FAILURES: { readonly [K in ProxyFailure]: { readonly status: number; readonly title: string } } = {
  upstream_unavailable: { status: 502, title: 'The upstream service could not be reached' },
  upstream_timeout: { status: 504, title: 'The upstream service did not answer in time' },
  body_too_large: { status: 413, title: 'The request body is larger than allowed' },
  client_closed: { status: 499, title: 'The caller closed the connection' },
  upgrade_refused: { status: 502, title: 'The upstream service refused the protocol upgrade' },
};

/** Raised inside the request-body stream when it grows past the configured limit. */
export class BodyTooLargeError extends Error {
  readonly code = 'ERR_BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
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

const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Maps an error from undici (or from the body stream) to a failure code. */
export function classifyProxyError(err: unknown): ProxyFailure {
  if (err instanceof BodyTooLargeError) return 'body_too_large';
  if (err instanceof ClientClosedError) return 'client_closed';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TIMEOUTS.has(code)) return 'upstream_timeout';
  if (err instanceof Error && err.message === 'bad upgrade') return 'upgrade_refused';
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
