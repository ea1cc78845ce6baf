// The upstream request's headers, built in one pass over the caller's raw headers. What becomes of
// a header (dropped, kept, read as Host or as a forwarding header) depends only on its name and the
// configuration, so it is decided once per name and remembered; the verified caller's identity
// headers are built once per principal and reused by every request it makes.
import { forwardingKind, forwardingPasses, type ForwardingKind } from './header-classes.js';
import { addConnectionListed, dropListed, HOP_BY_HOP, IDENTITY_HEADERS, withheldFromUpstream, type RequestHeaderOptions } from './headers.js';
import { NameMemo } from './name-memo.js';

/** What becomes of one of the caller's headers, by name. */
const ACTION = { keep: 0, drop: 1, connection: 2, host: 3, forwardedFor: 4, forwardedProto: 5, forwardedHost: 6, forwarding: 7, scheme: 8 } as const;
type Action = (typeof ACTION)[keyof typeof ACTION];

/** What of the header rules is fixed by configuration. */
export interface RequestHeaderRules {
  /** Forward the caller's `Authorization` header to the upstream. */
  readonly forwardAuthorization: boolean;
  /** Keep the caller's Host header (otherwise undici sends the upstream's). */
  readonly preserveHost: boolean;
  /** Lower-case identity header names the caller may still send upstream (`headers.passThrough`). */
  readonly passThrough: ReadonlySet<string>;
  /** Lower-case header of the identity assertion iamgate adds; the caller's copy is dropped. */
  readonly assertionHeader: string | undefined;
  /** iamgate sets the trace context: the caller's traceparent and tracestate are dropped. */
  readonly replacesTrace: boolean;
}

/** The verified caller as the upstream hears of it; a resolved principal is one (and is the cache key). */
export interface IdentitySource {
  readonly arn: string;
  readonly accountId: string;
  readonly sessionName?: string | undefined;
  readonly mfa: boolean;
}

/** What of the header rules changes with each request. */
export interface RequestHeaderFacts {
  /** The direct peer is a configured trusted proxy: keep and extend its X-Forwarded-* headers. */
  readonly trustedPeer: boolean;
  /** The peer's address, appended to X-Forwarded-For. */
  readonly peerAddress: string;
  /**
   * `https` when iamgate believed the caller used TLS (aws:SecureTransport), else `http`. It is
   * the X-Forwarded-Proto sent on, unless a trusted peer's values all agree on one.
   */
  readonly proto: string;
  /** The verified caller, sent as `x-iamgate-*` headers with the request id; undefined sends none. */
  readonly identity: IdentitySource | undefined;
  readonly requestId: string;
  /** The signed identity assertion, when the rules name its header. */
  readonly assertion: string | undefined;
  /** The trace context for the upstream, when the rules replace the caller's. */
  readonly trace: { readonly traceparent: string; readonly tracestate: string | undefined } | undefined;
}

export interface RequestHeaderPlan {
  /**
   * The upstream request's headers (flat `[name, value, ...]`). iamgate's own come first —
   * X-Forwarded-*, then the identity, the assertion and the trace context — so that an upstream
   * that keeps only the first N header lines still sees them; then the caller's, less hop-by-hop
   * ones (and those its Connection header lists), those `withheldFromUpstream`, a copy of the
   * assertion or trace headers, Host unless preserved, and forwarding headers (X-Forwarded-*,
   * X-Real-IP, ...) unless the peer is trusted.
   */
  build(raw: readonly string[], facts: RequestHeaderFacts): string[];
}

/** The action for each kind of forwarding header (header-classes.ts holds which header is which). */
const FORWARDING_ACTION: Readonly<Record<ForwardingKind, Action>> = {
  for: ACTION.forwardedFor,
  proto: ACTION.forwardedProto,
  host: ACTION.forwardedHost,
  scheme: ACTION.scheme,
  origin: ACTION.forwarding,
};

function actionFor(lower: string, rules: RequestHeaderRules): Action {
  if (lower === 'connection') return ACTION.connection;
  if (HOP_BY_HOP.has(lower) || withheldFromUpstream(lower, rules.forwardAuthorization, rules.passThrough)) return ACTION.drop;
  if (lower === rules.assertionHeader) return ACTION.drop;
  if (rules.replacesTrace && (lower === 'traceparent' || lower === 'tracestate')) return ACTION.drop;
  if (lower === 'host') return ACTION.host;
  const kind = forwardingKind(lower);
  return kind === undefined ? ACTION.keep : FORWARDING_ACTION[kind];
}

/**
 * The one value every comma-separated entry of `list` holds (trimmed, compared without case), or
 * undefined when they disagree. Frameworks read the first entry and iamgate reads them all
 * (aws:SecureTransport), so only a list that agrees may be passed on as it is.
 */
function agreedValue(list: string): string | undefined {
  let comma = list.indexOf(',');
  const first = (comma === -1 ? list : list.slice(0, comma)).trim();
  while (comma !== -1) {
    const start = comma + 1;
    comma = list.indexOf(',', start);
    if (list.slice(start, comma === -1 ? undefined : comma).trim().toLowerCase() !== first.toLowerCase()) return undefined;
  }
  return first;
}

/** Prepares the header rules of one configuration: name classes remembered, identity headers cached per principal. */
export function createRequestHeaderPlan(rules: RequestHeaderRules): RequestHeaderPlan {
  const actions = new NameMemo<Action>((lower) => actionFor(lower, rules));
  // Keyed by the principal object: a cached verified token yields the same object request after request.
  const identities = new WeakMap<IdentitySource, readonly string[]>();

  function identityHeaders(id: IdentitySource): readonly string[] {
    let list = identities.get(id);
    if (list === undefined) {
      const mfa = id.mfa ? 'true' : 'false';
      list = id.sessionName === undefined
        ? [IDENTITY_HEADERS.principal, id.arn, IDENTITY_HEADERS.account, id.accountId, IDENTITY_HEADERS.mfa, mfa]
        : [IDENTITY_HEADERS.principal, id.arn, IDENTITY_HEADERS.account, id.accountId, IDENTITY_HEADERS.mfa, mfa, IDENTITY_HEADERS.session, id.sessionName];
      identities.set(id, list);
    }
    return list;
  }

  return {
    build(raw, facts) {
      const trusted = facts.trustedPeer;
      const secure = facts.proto === 'https';
      const rest: string[] = [];
      let xff: string | undefined;
      let xfProto: string | undefined;
      let xfHost: string | undefined;
      let host: string | undefined;
      let listed: Set<string> | undefined;
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!;
        const value = raw[i + 1]!;
        switch (actions.of(name)) {
          case ACTION.keep:
            rest.push(name, value);
            break;
          case ACTION.drop:
            break;
          case ACTION.connection:
            listed = addConnectionListed(value, listed);
            break;
          case ACTION.host:
            host = value;
            if (rules.preserveHost) rest.push(name, value);
            break;
          case ACTION.forwardedFor:
            if (trusted) xff = xff === undefined ? value : `${xff}, ${value}`;
            break;
          case ACTION.forwardedProto:
            if (trusted) xfProto = xfProto === undefined ? value : `${xfProto},${value}`;
            break;
          case ACTION.forwardedHost:
            if (trusted) xfHost ??= value;
            break;
          case ACTION.forwarding:
            if (forwardingPasses('origin', trusted, secure, value)) rest.push(name, value);
            break;
          case ACTION.scheme:
            if (forwardingPasses('scheme', trusted, secure, value)) rest.push(name, value);
            break;
        }
      }
      // A header the Connection header lists is hop-by-hop wherever it stood, even before it.
      if (listed !== undefined) {
        dropListed(rest, listed);
        if (listed.has('x-forwarded-for')) xff = undefined;
        if (listed.has('x-forwarded-proto')) xfProto = undefined;
        if (listed.has('x-forwarded-host')) xfHost = undefined;
        if (listed.has('host')) host = undefined;
      }
      const proto = xfProto === undefined ? facts.proto : agreedValue(xfProto) ?? facts.proto;
      const out = ['x-forwarded-for', xff === undefined ? facts.peerAddress : `${xff}, ${facts.peerAddress}`, 'x-forwarded-proto', proto];
      if (xfHost !== undefined || host !== undefined) out.push('x-forwarded-host', (xfHost ?? host)!);
      if (facts.identity !== undefined) {
        for (const item of identityHeaders(facts.identity)) out.push(item);
        out.push(IDENTITY_HEADERS.requestId, facts.requestId);
      }
      if (rules.assertionHeader !== undefined && facts.assertion !== undefined) out.push(rules.assertionHeader, facts.assertion);
      if (facts.trace !== undefined) {
        out.push('traceparent', facts.trace.traceparent);
        if (facts.trace.tracestate !== undefined) out.push('tracestate', facts.trace.tracestate);
      }
      for (const item of rest) out.push(item);
      return out;
    },
  };
}

/** Builds the upstream request's headers with every option given at once (see `RequestHeaderPlan.build`). */
export function upstreamRequestHeaders(raw: readonly string[], opts: RequestHeaderOptions): string[] {
  const plan = createRequestHeaderPlan({
    forwardAuthorization: opts.forwardAuthorization,
    preserveHost: opts.preserveHost,
    passThrough: opts.passThrough,
    assertionHeader: opts.assertion?.header,
    replacesTrace: opts.trace !== undefined,
  });
  const id = opts.identity;
  return plan.build(raw, {
    trustedPeer: opts.trustedPeer,
    peerAddress: opts.peerAddress,
    proto: opts.proto,
    identity: id === undefined ? undefined : { arn: id.principal, accountId: id.account, sessionName: id.session, mfa: id.mfa },
    requestId: id?.requestId ?? '',
    assertion: opts.assertion?.value,
    trace: opts.trace,
  });
}
