// Header hygiene between the caller, iamgate and the upstream: which headers are hop-by-hop in both
// directions, which of the caller's never reach the upstream, and the names of iamgate's own. The
// lists are built by request-headers.ts (to the upstream) and response-headers.ts (to the caller).
import { DESCRIBING, IDENTITY_HEADER_PREFIX, isIdentityHeader } from './header-classes.js';

export { IDENTITY_HEADER_PREFIX };

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus ones undici refuses. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

export const IDENTITY_HEADERS = {
  principal: 'x-iamgate-principal',
  session: 'x-iamgate-session',
  requestId: 'x-iamgate-request-id',
  account: 'x-iamgate-account',
  mfa: 'x-iamgate-mfa',
} as const;

/** The verified identity passed upstream. */
export interface ForwardedIdentity {
  readonly principal: string;
  readonly account: string;
  readonly session: string | undefined;
  readonly mfa: boolean;
  readonly requestId: string;
}

export interface RequestHeaderOptions {
  /** Forward the caller's `Authorization` header to the upstream. */
  readonly forwardAuthorization: boolean;
  /** The direct peer is a configured trusted proxy: keep and extend its X-Forwarded-* headers. */
  readonly trustedPeer: boolean;
  /** The peer's address, appended to X-Forwarded-For. */
  readonly peerAddress: string;
  /** `http` or `https`: how the caller reached iamgate. */
  readonly proto: string;
  /** Keep the caller's Host header (otherwise undici sends the upstream's). */
  readonly preserveHost: boolean;
  /** The verified caller, sent as `x-iamgate-*` headers; undefined sends none. */
  readonly identity: ForwardedIdentity | undefined;
  /** Lower-case identity header names (see header-classes.ts) the caller may still send upstream (`headers.passThrough`). */
  readonly passThrough: ReadonlySet<string>;
  /** The signed identity assertion and its (lower-case) header; any copy from the caller is removed. */
  readonly assertion?: { readonly header: string; readonly value: string };
  /** The trace context for the upstream; the caller's traceparent and tracestate are replaced by it. */
  readonly trace?: { readonly traceparent: string; readonly tracestate: string | undefined };
}

/** Names listed in a Connection header (`Connection: close, x-foo` makes `x-foo` hop-by-hop). */
export function connectionTokens(raw: readonly string[]): ReadonlySet<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) {
      const name = t.trim().toLowerCase();
      if (name) (tokens ??= new Set()).add(name);
    }
  }
  return tokens;
}

/**
 * A caller's header (lower-case name) the upstream never receives, whoever carries the request
 * (iamgate's proxy, or Envoy told by a gRPC check): iamgate's own `x-iamgate-*` headers, names
 * containing `_`, headers describing another request, identity headers not in `passThrough`, and
 * `Authorization` unless forwarded by config.
 */
export function withheldFromUpstream(lower: string, forwardAuthorization: boolean, passThrough: ReadonlySet<string>): boolean {
  return (
    lower.startsWith(IDENTITY_HEADER_PREFIX) ||
    lower.includes('_') ||
    DESCRIBING.has(lower) ||
    (isIdentityHeader(lower) && !passThrough.has(lower)) ||
    (lower === 'authorization' && !forwardAuthorization)
  );
}

/**
 * Adds to `into` (created when needed) the names a Connection header value lists, but not the
 * hop-by-hop names that are dropped anyway: `keep-alive`, the usual value, adds nothing.
 */
export function addConnectionListed(value: string, into: Set<string> | undefined): Set<string> | undefined {
  if (value === 'keep-alive' || value === 'Keep-Alive') return into;
  for (const t of value.split(',')) {
    const name = t.trim().toLowerCase();
    if (name && !HOP_BY_HOP.has(name)) (into ??= new Set()).add(name);
  }
  return into;
}

/** Removes from a flat `[name, value, ...]` list, in place, the headers whose (lower-case) name is in `listed`. */
export function dropListed(list: string[], listed: ReadonlySet<string>): void {
  let kept = 0;
  for (let i = 0; i < list.length; i += 2) {
    if (listed.has(list[i]!.toLowerCase())) continue;
    list[kept++] = list[i]!;
    list[kept++] = list[i + 1]!;
  }
  list.length = kept;
}
