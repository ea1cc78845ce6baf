// The request pipeline: normalise → authenticate → map the route → build the context → decide →
// audit. Each stage returns a plain value; the result is an outcome the caller turns into a
// forwarded request, a forward-auth answer, or a rejection. One audit event per run, always.
import { AUTH_ERRORS } from '../auth/errors.js';
import type { Principal, PrincipalResolver } from '../identity/index.js';
import { explainDecision, type AuthzRequest } from '../policy/index.js';
import { connectionTokens } from '../proxy/headers.js';
import type { AuditEventInput, AuditSink } from './audit.js';
import type { Authenticator, AuthOutcome } from './auth.js';
import { buildRequestContext, secureTransport, sourceAddress, type RequestFacts, type TrustedProxies } from './context.js';
import type { Decider, Verdict } from './decide.js';
import { denyBody, errorBody, GATEWAY_ERRORS, type GatewayErrorCode } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { isCanonicalTarget, LOOKALIKE_REJECTIONS, normalizeTarget, type NormalizedTarget, type PathRules } from './path.js';
import type { CompiledRouteMap, RouteMatch } from './routes/index.js';
import type { ShadowLog, ShadowPolicies } from './shadow.js';

/** The loaded, compiled policies a request is decided against; replaced whole on reload. */
export interface PolicySnapshot {
  readonly routes: CompiledRouteMap;
  readonly authenticator: Authenticator;
  /** Content digest of everything loaded (directory, policies, routes): equal on every replica with the same files. */
  readonly digest: string;
  /** This instance's load counter (1 for the first load), recorded in audit events. */
  readonly generation: number;
  /** The directory these policies belong to (what the STS and the mesh peer resolve against). */
  readonly resolver?: PrincipalResolver;
  /** A directory principal by ARN, for simulated decisions on the operations port. */
  readonly principalFor?: (arn: string, mfa: boolean, now: number) => Principal | undefined;
  /** Candidate policies decided beside these ones (`policies.shadow`). */
  readonly shadow?: ShadowPolicies;
}

/**
 * Where the decision was asked for. `operator` runs (simulations) are not audited, nor are
 * `tunnel` runs (an open WebSocket tunnel decided again after a reload: its close is recorded).
 */
export type DecisionSource = 'proxy' | 'websocket' | 'forward-auth' | 'ext-authz' | 'operator' | 'tunnel';

/** A decision event for the audit trail, with the decision fields the pipeline always sets. */
export type DecisionEvent = AuditEventInput & { readonly decision: 'Allow' | 'Deny' };

export interface Allowed {
  readonly kind: 'allow';
  readonly principal: Principal;
  readonly match: RouteMatch;
  readonly target: NormalizedTarget;
  readonly verdict: Verdict;
  readonly sourceIp: string;
  /** The direct peer is a trusted proxy. */
  readonly trustedPeer: boolean;
  readonly secure: boolean;
  readonly event: DecisionEvent;
}

export interface Rejected {
  readonly kind: 'reject';
  readonly code: GatewayErrorCode;
  readonly status: number;
  /** The JSON body for the caller. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  /** Present when the rejection is a policy decision (403). */
  readonly verdict?: Verdict;
  readonly event: DecisionEvent;
}

export type PipelineOutcome = Allowed | Rejected;

export interface PipelineDeps {
  /** The current policies, or undefined while none are loaded. */
  readonly snapshot: () => PolicySnapshot | undefined;
  readonly decider: Decider;
  readonly audit: AuditSink;
  readonly metrics: GatewayMetrics;
  readonly pathRules: PathRules;
  readonly trustedProxies: TrustedProxies;
  /** Include the statement-level explanation in 403 bodies (it always goes to the log). */
  readonly explainToCaller: boolean;
  /** Realm named in `WWW-Authenticate`. */
  readonly realm: string;
  /** Told about each rejection's audit-only detail (which path rule, which token check, why denied). */
  readonly onDetail?: (requestId: string, code: string, detail: string) => void;
  /** Counts shadow evaluations and their disagreements (when policies.shadow is set). */
  readonly shadowLog?: ShadowLog;
}

/**
 * A request its reader already refused (a forward-auth call that describes two requests or none,
 * HTTP the listener or its adapter cannot take, an upgrade to another protocol, a gRPC check
 * without HTTP attributes): answered with the code's status and audited like any other rejection.
 */
export interface Refusal {
  readonly code: 'forward_auth_ambiguous' | 'forward_auth_incomplete' | 'malformed_request' | 'request_timeout' | 'too_many_headers' | 'headers_too_large' | 'bad_header' | 'ext_authz_incomplete';
  /** The body's and the audit record's reason code, when finer than `code`. */
  readonly reason?: string;
  /** The body's message, when other than the code's title. */
  readonly message?: string;
  /** What was wrong, for the audit log only. */
  readonly detail: string;
}

export interface PipelineOverride {
  readonly authenticator?: Authenticator;
  readonly refusal?: Refusal;
}

export interface Pipeline {
  /** Runs every stage for one request and records its decision event; never throws for bad input. */
  run(facts: RequestFacts, source: DecisionSource, override?: PipelineOverride): Promise<PipelineOutcome>;
}

const RESERVED_PREFIX = '/.iamgate/';

/** The `result` label of the cache lookup counter for each level a verdict came from. */
const CACHE_RESULTS: Readonly<Record<Verdict['cache'], string>> = { miss: 'miss', l1: 'hit_l1', l2: 'hit_l2' };

const PRINCIPAL_TYPES: Readonly<Record<Principal['type'], string>> = { User: 'user', AssumedRole: 'assumed-role', WebIdentity: 'web-identity' };

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '')}"`;
}

/** The `WWW-Authenticate` challenge for a failed authentication (RFC 6750 §3). */
function bearerChallenge(realm: string, code: string, message: string): string {
  const known = (AUTH_ERRORS as Readonly<Record<string, { bearerError?: string }>>)[code];
  const error = known ? known.bearerError : 'invalid_token';
  return error === undefined ? `Bearer realm=${quote(realm)}` : `Bearer realm=${quote(realm)}, error=${quote(error)}, error_description=${quote(message)}`;
}

/** How many times a header appears (case-insensitive). */
function countOf(raw: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) count++;
  return count;
}

/**
 * Whether the request's framing is one iamgate forwards: no Transfer-Encoding, or exactly one that
 * is `chunked`. node:http hands over a request with an unknown coding (`xchunked`) before it fails
 * on the body; forwarding it would send the upstream a body that never ends.
 */
function knownTransferCoding(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 17 || raw[i]!.toLowerCase() !== 'transfer-encoding') continue;
    if (seen || raw[i + 1]!.trim().toLowerCase() !== 'chunked') return false;
    seen = true;
  }
  return true;
}

/** Headers read for request keys (aws:UserAgent, aws:Referer) whatever the route. */
const CONTEXT_HEADERS = ['user-agent', 'referer'];

/**
 * A header the decision reads that `Connection` names: the upstream would never receive the value
 * that was decided on, so the request is refused rather than forwarded without it.
 */
function connectionHidden(raw: readonly string[], match: RouteMatch): string | undefined {
  const listed = connectionTokens(raw);
  if (!listed) return undefined;
  for (const name of CONTEXT_HEADERS) if (listed.has(name)) return name;
  for (const source of match.context) if (source.from === 'header' && listed.has(source.name)) return source.name;
  return undefined;
}

function badHeader(requestId: string, reason: string): Record<string, unknown> {
  return { ...errorBody('bad_header', requestId), reason };
}

function authorizationOf(raw: readonly string[]): { value: string | undefined; count: number } {
  let value: string | undefined;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') {
      value ??= raw[i + 1];
      count++;
    }
  }
  return { value, count };
}

/** Event fields known so far: each stage fills in its own (one object per request, not a copy per stage). */
type EventBase = { -readonly [K in keyof Omit<DecisionEvent, 'decision' | 'reason'>]: DecisionEvent[K] };

interface RejectOptions {
  readonly body?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
  readonly status?: number;
  readonly message?: string;
  readonly verdict?: Verdict;
  readonly detail?: string;
}

/** Creates the pipeline; everything it needs was validated and compiled before. */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const { metrics, audit } = deps;

  /** Counts the decision and records its event; a sink that cannot keep the event turns the outcome into a 503. */
  async function finish(outcome: PipelineOutcome, source: DecisionSource): Promise<PipelineOutcome> {
    const e = outcome.event;
    metrics.count.decision(outcome.verdict?.decision.decision ?? 'Rejected', e.reason);
    if (source === 'operator' || source === 'tunnel') return outcome;
    try {
      await audit.record(e);
      return outcome;
    } catch {
      const status = GATEWAY_ERRORS.audit_unavailable.status;
      const requestId = e.requestId ?? '';
      deps.onDetail?.(requestId, 'audit_unavailable', 'the audit sink refused the event');
      const event: DecisionEvent = { ...e, decision: 'Deny', reason: 'audit_unavailable', status };
      return { kind: 'reject', code: 'audit_unavailable', status, body: errorBody('audit_unavailable', requestId), headers: {}, event };
    }
  }

  function rejectWith(code: GatewayErrorCode, base: EventBase, reason: string, source: DecisionSource, opts: RejectOptions = {}): Promise<PipelineOutcome> {
    const info = GATEWAY_ERRORS[code];
    const status = opts.status ?? info.status;
    const requestId = base.requestId ?? '';
    const body = opts.body ?? errorBody(code, requestId, reason, opts.message);
    if (opts.detail !== undefined) deps.onDetail?.(requestId, reason, opts.detail);
    const event: DecisionEvent = { ...base, decision: 'Deny', reason, status };
    const outcome: Rejected = { kind: 'reject', code, status, body, headers: opts.headers ?? {}, event, ...(opts.verdict ? { verdict: opts.verdict } : {}) };
    return finish(outcome, source);
  }

  return {
    async run(facts, source, override) {
      const kind = source === 'forward-auth' ? 'forward_auth' : source === 'ext-authz' ? 'ext_authz' : 'request';
      const trustedPeer = deps.trustedProxies.has(facts.peerAddress);
      const sourceIp = sourceAddress(facts.peerAddress, facts.rawHeaders, deps.trustedProxies, trustedPeer);
      const secure = secureTransport(facts, trustedPeer);
      const reject = (code: GatewayErrorCode, base: EventBase, reason: string, opts?: RejectOptions): Promise<PipelineOutcome> =>
        rejectWith(code, base, reason, source, opts);
      const base: EventBase = { kind, requestId: facts.requestId, method: facts.method, sourceIp, ...(facts.trace ? { traceId: facts.trace.traceId } : {}) };

      // 0. What the reader of the request already refused, and a request with two hosts.
      const refusal = override?.refusal;
      if (refusal) return reject(refusal.code, base, refusal.reason ?? refusal.code, { detail: refusal.detail, ...(refusal.message !== undefined ? { message: refusal.message } : {}) });
      if (countOf(facts.rawHeaders, 'host') > 1) {
        return reject('bad_header', base, 'bad_header', { body: badHeader(facts.requestId, 'duplicate_host'), detail: 'duplicate_host' });
      }
      if (!knownTransferCoding(facts.rawHeaders)) return reject('malformed_request', base, 'malformed_request', { detail: 'unsupported transfer coding' });

      // 1. One normalisation: the path decided on is the path forwarded.
      const normalized = normalizeTarget(facts.target, deps.pathRules);
      if (!normalized.ok) {
        const code = LOOKALIKE_REJECTIONS.has(normalized.reason) ? 'unicode_lookalike' : 'bad_path';
        const body = { ...errorBody(code, facts.requestId), reason: normalized.reason };
        return reject(code, base, code, { body, detail: normalized.reason });
      }
      const target = normalized.target;
      base.path = target.path;
      // The proxy asking forward-auth or ext_authz forwards the raw path: decide only when it is the normalised one.
      if ((source === 'forward-auth' || source === 'ext-authz') && !isCanonicalTarget(facts.target, target)) {
        return reject('bad_path', base, 'bad_path', { body: { ...errorBody('bad_path', facts.requestId), reason: 'not_canonical' }, detail: 'not_canonical' });
      }
      // iamgate's own prefix is never forwarded (forward-auth asks about the protected service's paths).
      if ((source === 'proxy' || source === 'websocket') && (target.path + '/').startsWith(RESERVED_PREFIX)) return reject('reserved_path', base, 'reserved_path');

      const snapshot = deps.snapshot();
      if (!snapshot) return reject('not_ready', base, 'not_ready');
      base.policyGeneration = snapshot.generation;

      // 2. Authenticate and resolve the principal.
      const authorization = authorizationOf(facts.rawHeaders);
      if (authorization.count > 1) return reject('ambiguous_parameter', base, 'ambiguous_parameter', { detail: 'more than one Authorization header' });
      const authenticator = override?.authenticator ?? snapshot.authenticator;
      let auth: AuthOutcome;
      try {
        auth = await authenticator.authenticate({ authorization: authorization.value });
      } catch (err) {
        // An authenticator must answer bad input with a failure; a throw is an outage: fail closed.
        return reject('auth_unavailable', base, 'auth_error', { detail: err instanceof Error ? err.message : String(err) });
      }
      if (!auth.ok) {
        const code: GatewayErrorCode = auth.status === 401 ? 'unauthenticated' : auth.status === 429 ? 'rate_limited' : 'auth_unavailable';
        const headers: Record<string, string> = auth.status === 401 ? { 'www-authenticate': bearerChallenge(deps.realm, auth.code, auth.message) } : {};
        return reject(code, base, auth.code, { status: auth.status, message: auth.message, headers, ...(auth.detail !== undefined ? { detail: auth.detail } : {}) });
      }
      const principal = auth.principal;
      base.principal = {
        arn: principal.arn,
        type: PRINCIPAL_TYPES[principal.type],
        ...(principal.sessionName !== undefined ? { session: principal.sessionName } : {}),
        ...(principal.sourceIdentity !== undefined ? { sourceIdentity: principal.sourceIdentity } : {}),
      };
      base.authn = { issuer: principal.issuer, methods: principal.authMethods, mfa: principal.mfa };

      // 3. Map method and path to an action and a resource.
      const match = snapshot.routes.match(facts.method, target.segments, target.path);
      if (!match) {
        const body = denyBody('implicit_deny', null, null, facts.requestId);
        return reject('access_denied', base, 'no_route', { body, detail: 'no route matches the method and path' });
      }
      base.action = match.action;
      base.resource = match.resource;

      // 4. The condition context, from headers the upstream will receive as they were decided on.
      const hidden = connectionHidden(facts.rawHeaders, match);
      if (hidden !== undefined) {
        return reject('bad_header', base, 'bad_header', { body: badHeader(facts.requestId, 'connection_names_condition_header'), detail: `Connection names ${hidden}` });
      }
      const built = buildRequestContext(principal, facts, match, target.path, target.query, { sourceIp, secure });
      if (!built.ok) return reject('ambiguous_parameter', base, 'ambiguous_parameter', { detail: `condition key ${built.key} has more than one value` });

      // 5. Decide.
      const request: AuthzRequest = { principal: principal.arn, action: match.action, resource: match.resource, context: built.context };
      const started = performance.now();
      const verdict = await deps.decider.decide(principal, request, snapshot.digest, facts.now);
      metrics.decisionSeconds.observe((performance.now() - started) / 1000);
      metrics.count.cacheLookup(CACHE_RESULTS[verdict.cache]);
      // Shadow evaluation: one more evaluation, recorded when it disagrees; the live verdict stands.
      if (snapshot.shadow && source !== 'operator') {
        const shadow = snapshot.shadow.judge(principal, request, verdict.decision.decision === 'Allow');
        deps.shadowLog?.record(shadow, request, facts.now);
        if (shadow !== undefined) base.shadow = shadow;
      }
      const statements = verdict.decision.matched.map((m) => (m.sid !== undefined ? { policy: m.policy, sid: m.sid } : { policy: m.policy }));
      base.statements = statements;
      base.cache = verdict.cache;

      // 6. Audit, then proxy or reject.
      if (verdict.reason === 'allowed') {
        const allowed: Allowed = { kind: 'allow', principal, match, target, verdict, sourceIp, trustedPeer, secure, event: { ...base, decision: 'Allow', reason: 'allowed' } };
        return finish(allowed, source);
      }
      const explanation = explainDecision(verdict.decision);
      const body = denyBody(verdict.reason, match.action, match.resource, facts.requestId);
      if (deps.explainToCaller) body['explanation'] = explanation;
      return reject('access_denied', base, verdict.reason, { body, verdict, detail: explanation.join('; ') });
    },
  };
}
