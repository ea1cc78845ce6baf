// Header hygiene between the caller, iamgate and the upstream: hop-by-hop headers removed in both
// directions, iamgate's own identity headers never taken from the caller, X-Forwarded-* set.
import { DESCRIBING, FORWARDING, IDENTITY_HEADER_PREFIX, isIdentityHeader } from './header-classes.js';

export { IDENTITY_HEADER_PREFIX };

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus ones undici refuses. */
const HOP_BY_HOP = new Set([
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
 * Builds the upstream request's headers (flat `[name, value, ...]`) from the caller's raw headers.
 * iamgate's own headers come first — X-Forwarded-*, then the identity — so that an upstream that
 * keeps only the first N header lines still sees them. Of the caller's headers it drops hop-by-hop
 * ones, every `x-iamgate-*` one, every name containing `_` (servers that fold `_` into `-` would
 * read `X_Iamgate_Principal` as iamgate's), headers describing another request (URL, path, method
 * and host overrides), identity headers not in `passThrough`, `Authorization` unless forwarded by
 * config, and forwarding headers (X-Forwarded-*, X-Real-IP, ...) unless the peer is trusted.
 */
export function upstreamRequestHeaders(raw: readonly string[], opts: RequestHeaderOptions): string[] {
  const listed = connectionTokens(raw);
  const rest: string[] = [];
  let xff: string | undefined;
  let xfProto: string | undefined;
  let xfHost: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower) || withheldFromUpstream(lower, opts.forwardAuthorization, opts.passThrough)) continue;
    if (lower === opts.assertion?.header) continue;
    if (opts.trace && (lower === 'traceparent' || lower === 'tracestate')) continue;
    if (lower === 'host') {
      host = value;
      if (!opts.preserveHost) continue;
    }
    if (FORWARDING.has(lower)) {
      if (!opts.trustedPeer) continue;
      if (lower === 'x-forwarded-for') {
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      }
      if (lower === 'x-forwarded-proto') {
        xfProto ??= value;
        continue;
      }
      if (lower === 'x-forwarded-host') {
        xfHost ??= value;
        continue;
      }
    }
    rest.push(name, value);
  }
  const out: string[] = ['x-forwarded-for', xff === undefined ? opts.peerAddress : `${xff}, ${opts.peerAddress}`, 'x-forwarded-proto', xfProto ?? opts.proto];
  if (xfHost !== undefined || host !== undefined) out.push('x-forwarded-host', xfHost ?? host!);
  const id = opts.identity;
  if (id) {
    out.push(IDENTITY_HEADERS.principal, id.principal, IDENTITY_HEADERS.account, id.account, IDENTITY_HEADERS.mfa, id.mfa ? 'true' : 'false');
    if (id.session !== undefined) out.push(IDENTITY_HEADERS.session, id.session);
    out.push(IDENTITY_HEADERS.requestId, id.requestId);
  }
  if (opts.assertion) out.push(opts.assertion.header, opts.assertion.value);
  if (opts.trace) {
    out.push('traceparent', opts.trace.traceparent);
    if (opts.trace.tracestate !== undefined) out.push('tracestate', opts.trace.tracestate);
  }
  for (const item of rest) out.push(item);
  return out;
}

/** Filters the upstream's raw response headers (Buffers from undici) for the caller: hop-by-hop headers removed. */
export function clientResponseHeaders(raw: readonly (Buffer | string)[], requestId: string, keepUpgrade = false): string[] {
  const strings = raw.map((b) => (typeof b === 'string' ? b : b.toString('latin1')));
  const listed = keepUpgrade ? undefined : connectionTokens(strings);
  const out: string[] = [];
  for (let i = 0; i < strings.length; i += 2) {
    const name = strings[i]!;
    const lower = name.toLowerCase();
    if (keepUpgrade && (lower === 'upgrade' || lower === 'connection')) {
      out.push(name, strings[i + 1]!);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || listed?.has(lower) || lower === IDENTITY_HEADERS.requestId) continue;
    out.push(name, strings[i + 1]!);
  }
  out.push(IDENTITY_HEADERS.requestId, requestId);
  return out;
}
