// The public key sets on the gateway port (the session tokens' JWKS, the identity assertion's) are
// answers of the gateway like any other: each gets a request id and exactly one record, written
// before the keys are served (a sink that refuses it makes the read a 503 audit_unavailable).
import type { MiddlewareHandler } from 'hono';
import { incomingOf, sourceAddress, type AuditSink, type GatewayEnv, type TrustedProxies } from '../gateway/index.js';
import { IDENTITY_HEADERS } from '../proxy/index.js';

export interface PublicKeysRecordDeps {
  readonly audit: AuditSink;
  readonly requestId: () => string;
  readonly trustedProxies: TrustedProxies;
}

/** Middleware for a public key set's path: names the read and records it, then serves the keys. */
export function recordPublicKeysRead(deps: PublicKeysRecordDeps): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    // Another method finds no key set here: the gateway's own answer (and record) follows.
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    const requestId = deps.requestId();
    c.set('requestId', requestId);
    const incoming = incomingOf(c);
    const peer = incoming?.socket.remoteAddress;
    await deps.audit.record({
      kind: 'request',
      requestId,
      method: c.req.method,
      path: c.req.path,
      ...(incoming && peer !== undefined ? { sourceIp: sourceAddress(peer, incoming.rawHeaders, deps.trustedProxies) } : {}),
      decision: 'Allow',
      reason: 'public_keys',
      status: 200,
    });
    c.header(IDENTITY_HEADERS.requestId, requestId);
    await next();
  };
}
