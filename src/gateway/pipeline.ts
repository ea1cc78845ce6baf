// The request pipeline: the stages of src/gateway/stages/ run in order over one request's context
// (refusal → framing → target → policies → authenticate → route → context → decide → shadow →
// verdict), then the decision is audited. The result is an outcome the caller turns into a
// forwarded request, a forward-auth answer, or a rejection. One audit event per run, always.
// When every stage answers synchronously (a cached token, an L1 hit) and the audit sink does not
// make it wait, the whole run is synchronous: no Promise between the request and the upstream.
import type { PeerAuthenticator } from '../auth/index.js';
import type { Principal, PrincipalResolver } from '../identity/index.js';
import { createPolicySetKeysMemo } from '../policy/index.js';
import { followRefusedRecord, type AuditEventInput, type AuditSink } from './audit.js';
import type { Authenticator } from './auth.js';
import { secureTransportOf, sourceAddressOf, type RequestFacts, type TrustedProxies } from './context.js';
import type { Decider, Verdict } from './decide.js';
import { errorBody, GATEWAY_ERRORS, type GatewayErrorCode } from '../errors/index.js';
import type { GatewayMetrics } from './metrics.js';
import type { NormalizedTarget, PathRules } from './path.js';
import { scanHeaders, type RequestHeaders } from './request-headers.js';
import type { CompiledRouteMap, RouteMatch } from './routes/index.js';
import type { ShadowLog, ShadowPolicies } from './shadow.js';
import { required, STAGES, UNAUDITED_SOURCES, type Answer, type EventBase, type Stage, type StageContext, type StageResult } from './stages/index.js';

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
  /** The client's headers as the stages read them. */
  readonly headers: RequestHeaders;
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
  /** Workload identity from the mesh peer (ext_authz `source.principal`), a member of every snapshot's authenticator chain. */
  readonly peerAuthenticator?: PeerAuthenticator | undefined;
}

/**
 * A request its reader already refused (a forward-auth call that describes two requests or none,
 * HTTP the listener or its adapter cannot take, an upgrade to another protocol, a gRPC check
 * without HTTP attributes): answered with the code's status and audited like any other rejection.
 */
export interface Refusal {
  readonly code: 'forward_auth_ambiguous' | 'forward_auth_incomplete' | 'malformed_request' | 'request_timeout' | 'too_many_headers' | 'headers_too_large' | 'bad_header' | 'ext_authz_incomplete' | 'ext_authz_ambiguous' | 'ext_authz_overloaded' | 'expectation_failed';
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

/** Told once how a run ended: its outcome, or (outcome undefined) the error a stage failed with. */
export type RunDone = (err: unknown, outcome: PipelineOutcome | undefined) => void;

export interface Pipeline {
  /**
   * Runs every stage for one request and records its decision event; never throws for bad input.
   * Synchronous when nothing had to wait (see the file's header).
   */
  run(facts: RequestFacts, source: DecisionSource, override?: PipelineOverride): PipelineOutcome | Promise<PipelineOutcome>;
  /**
   * `run` with a callback, so that waiting on the audit record (the durable trail) makes no
   * Promise: `done` is called once, at once when nothing had to wait. A stage that throws
   * synchronously throws here; a failure after a wait reaches `done` as its error.
   */
  runThen?(facts: RequestFacts, source: DecisionSource, done: RunDone, override?: PipelineOverride): void;
}

/** The audit record's `kind` for each source. */
export const EVENT_KINDS: Readonly<Record<DecisionSource, DecisionEvent['kind']>> = {
  proxy: 'request',
  websocket: 'request',
  operator: 'request',
  tunnel: 'request',
  'forward-auth': 'forward_auth',
  'ext-authz': 'ext_authz',
};

/** Creates the pipeline; everything it needs was validated and compiled before. */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const { metrics, audit } = deps;
  const stageDeps = { ...deps, keysOf: createPolicySetKeysMemo() };
  const stages: readonly Stage[] = STAGES.map((make) => make(stageDeps));

  /**
   * The decision could not be kept (`err` says why): a 503. A record sealed before its write failed
   * reaches the trail later, so an `outcome` record saying audit_unavailable follows it there.
   */
  function unrecorded(e: DecisionEvent, err: unknown): Rejected {
    const status = GATEWAY_ERRORS.audit_unavailable.status;
    const requestId = e.requestId ?? '';
    deps.onDetail?.(requestId, 'audit_unavailable', 'the audit sink refused the event');
    followRefusedRecord(audit, e, err, status);
    const event: DecisionEvent = { ...e, decision: 'Deny', reason: 'audit_unavailable', status };
    return { kind: 'reject', code: 'audit_unavailable', status, body: errorBody('audit_unavailable', requestId), headers: {}, event };
  }

  /**
   * Counts the decision; true when its event is to be recorded (operator and tunnel runs are not).
   * An operator's simulation is counted nowhere: it is no request, and explaining denials must not
   * read as a burst of them on the dashboards built from the metrics.
   */
  function counted(outcome: PipelineOutcome, source: DecisionSource): boolean {
    if (source === 'operator') return false;
    metrics.count.decision(outcome.verdict?.decision.decision ?? 'Rejected', outcome.event.reason);
    return !UNAUDITED_SOURCES.has(source);
  }

  /** Counts the decision and records its event; a sink that cannot keep the event turns the outcome into a 503. */
  function finish(outcome: PipelineOutcome, source: DecisionSource): PipelineOutcome | Promise<PipelineOutcome> {
    if (!counted(outcome, source)) return outcome;
    const e = outcome.event;
    let pending: void | Promise<void>;
    try {
      pending = audit.record(e);
    } catch (err) {
      return unrecorded(e, err);
    }
    return pending instanceof Promise ? pending.then(() => outcome, (err: unknown) => unrecorded(e, err)) : outcome;
  }

  /** `finish` with a callback: through the sink's `recordThen` where it has one, so no Promise is made. */
  function finishThen(outcome: PipelineOutcome, source: DecisionSource, done: RunDone): void {
    if (audit.recordThen === undefined) {
      settle(finish(outcome, source), done);
      return;
    }
    if (!counted(outcome, source)) {
      done(undefined, outcome);
      return;
    }
    const e = outcome.event;
    let waits: boolean;
    try {
      waits = audit.recordThen(e, (err) => done(undefined, err === undefined ? outcome : unrecorded(e, err)));
    } catch (err) {
      done(undefined, unrecorded(e, err));
      return;
    }
    if (!waits) done(undefined, outcome);
  }

  /** The decision of the stages from `index` on, not yet counted or recorded: synchronous until a stage returns a Promise. */
  function from(ctx: StageContext, index: number): PipelineOutcome | Promise<PipelineOutcome> {
    for (let i = index; i < stages.length; i++) {
      const result: StageResult | Promise<StageResult> = stages[i]!.run(ctx);
      if (result === undefined) continue;
      if (result instanceof Promise) return result.then((r) => (r === undefined ? from(ctx, i + 1) : answer(ctx, r)));
      return answer(ctx, result);
    }
    return allow(ctx);
  }

  function answer(ctx: StageContext, a: Answer): PipelineOutcome {
    const info = GATEWAY_ERRORS[a.code];
    const status = a.status ?? info.status;
    const requestId = ctx.facts.requestId;
    const body = a.body ?? errorBody(a.code, requestId, a.reason, a.message);
    if (a.detail !== undefined) deps.onDetail?.(requestId, a.reason, a.detail);
    const event = ctx.event;
    event.decision = 'Deny';
    event.reason = a.reason;
    event.status = status;
    return { kind: 'reject', code: a.code, status, body, headers: a.headers ?? {}, event, ...(a.verdict ? { verdict: a.verdict } : {}) };
  }

  function allow(ctx: StageContext): PipelineOutcome {
    const event = ctx.event;
    event.decision = 'Allow';
    event.reason = 'allowed';
    return {
      kind: 'allow',
      principal: required(ctx.principal, 'the principal'),
      match: required(ctx.match, 'the match'),
      target: required(ctx.target, 'the target'),
      verdict: required(ctx.verdict, 'the verdict'),
      sourceIp: ctx.sourceIp,
      trustedPeer: ctx.trustedPeer,
      secure: ctx.secure,
      headers: ctx.headers,
      event,
    };
  }

  /** The context of one run, before any stage has read it. */
  function start(facts: RequestFacts, source: DecisionSource, override: PipelineOverride | undefined): StageContext {
    const headers = scanHeaders(facts.rawHeaders);
    const trustedPeer = deps.trustedProxies.has(facts.peerAddress);
    const sourceIp = sourceAddressOf(facts.peerAddress, headers.forwardedFor, deps.trustedProxies, trustedPeer);
    const secure = secureTransportOf(facts.secure, headers.forwardedProto, trustedPeer);
    // Deny until a stage's answer or the allow says otherwise.
    const event: EventBase = { kind: EVENT_KINDS[source], requestId: facts.requestId, method: facts.method, sourceIp, decision: 'Deny', reason: 'undecided' };
    if (facts.trace) event.traceId = facts.trace.traceId;
    const ctx: StageContext = {
      facts,
      source,
      override,
      headers,
      trustedPeer,
      sourceIp,
      secure,
      event,
      target: undefined,
      snapshot: undefined,
      principal: undefined,
      match: undefined,
      request: undefined,
      verdict: undefined,
    };
    return ctx;
  }

  return {
    run(facts, source, override) {
      const decided = from(start(facts, source, override), 0);
      return decided instanceof Promise ? decided.then((outcome) => finish(outcome, source)) : finish(decided, source);
    },
    runThen(facts, source, done, override) {
      const decided = from(start(facts, source, override), 0);
      if (decided instanceof Promise) decided.then((outcome) => finishThen(outcome, source, done), (err: unknown) => done(err, undefined));
      else finishThen(decided, source, done);
    },
  };
}

/** Hands what `run` returned to a `runThen` callback. */
function settle(outcome: PipelineOutcome | Promise<PipelineOutcome>, done: RunDone): void {
  if (outcome instanceof Promise) outcome.then((o) => done(undefined, o), (err: unknown) => done(err, undefined));
  else done(undefined, outcome);
}

