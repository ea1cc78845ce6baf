// The gateway's main path on raw Node objects: run the pipeline, then forward the allowed request
// (or tunnel an allowed WebSocket upgrade) exactly as authorised, or write the rejection.
import { AUDIT_DEFAULTS, createIdSource, type AuditOutcomes } from '../audit/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { failureStatus } from './errors.js';
import { createRequestHeaderPlan, planBody, type ForwardListener, type ProxyResult, type Upstream } from '../proxy/index.js';
import type { AssertionIssuer } from '../assertion/index.js';
import { createTraceIds, preciseNow, traceOf, traceparentOf, type RequestTracer, type TraceContext, type TraceIds } from '../trace/index.js';
import type { AuditSink } from './audit.js';
import { headerValue, type RequestFacts } from './context.js';
import type { GatewayMetrics } from './metrics.js';
import type { FailSafePipeline } from './failsafe.js';
import type { Allowed, PipelineOutcome, Rejected } from './pipeline.js';
import { writeError, writeJson, writeSocketError, writeSocketJson } from './respond.js';
import type { Tunnels } from './tunnels.js';

const NO_BODY = { kind: 'none' } as const;

export interface ForwardingOptions {
  readonly forwardAuthorization: boolean;
  readonly preserveHost: boolean;
  /** Lower-case identity header names the caller may send upstream (`headers.passThrough`). */
  readonly passThrough: ReadonlySet<string>;
  /** Largest request body accepted, in bytes; 0 for no limit. */
  readonly maxBodyBytes: number;
  /** How long a caller may send nothing of its body while the upstream waits for it (`upstream.idleTimeoutMs`). */
  readonly bodyIdleTimeoutMs: number;
}

export interface HandlerDeps {
  /** Never throws or rejects: a failing run is already an audited `internal_error` answer. */
  readonly pipeline: FailSafePipeline;
  readonly upstream: Upstream;
  readonly metrics: GatewayMetrics;
  readonly audit: AuditSink;
  /** Which allowed requests get an `outcome` record after the upstream leg (default `failures`). */
  readonly outcomes?: AuditOutcomes;
  readonly logger: Logger;
  readonly forwarding: ForwardingOptions;
  readonly now: () => number;
  readonly requestId?: () => string;
  /** Signs an identity assertion for the upstream with each forwarded request (docs/identity-assertion.md). */
  readonly assertion?: AssertionIssuer;
  /** Ids for traces iamgate starts and for its spans (default: random). */
  readonly traceIds?: TraceIds;
  /** Exports spans (OpenTelemetry), when configured. */
  readonly tracer?: RequestTracer;
  /** Where open WebSocket tunnels are registered, so they can be closed when their authorisation ends. */
  readonly tunnels?: Tunnels;
  /** Counts an upgrade refused by the pipeline (its socket ended by writeSocketJson). */
  readonly refusedUpgrade?: (reason: string) => void;
}

/** The PEM of a TLS client's certificate, when it presented one. */
function peerCertificateOf(socket: TLSSocket): string | undefined {
  return socket.getPeerX509Certificate?.()?.toString();
}

/**
 * Reads the plain facts the pipeline needs from Node's request, once. Every request's facts have
 * one shape (each field present, no conditional spread), so the stages read them monomorphically.
 */
export function requestFacts(incoming: IncomingMessage, requestId: string, now: number, trace?: TraceContext): RequestFacts {
  const socket = incoming.socket;
  const secure = (socket as Partial<TLSSocket>).encrypted === true;
  return {
    requestId,
    method: incoming.method ?? 'GET',
    target: incoming.url ?? '/',
    rawHeaders: incoming.rawHeaders,
    peerAddress: socket.remoteAddress ?? '',
    secure,
    now,
    trace,
    extensions: undefined,
    peerPrincipal: undefined,
    // Only a TLS caller has a certificate to read (the closure is made for those alone).
    peerCertificate: secure ? () => peerCertificateOf(socket as TLSSocket) : undefined,
  };
}

/**
 * One forwarded request's state until the upstream leg ends, and the upstream's listener: one object
 * of one shape per request, where a closure and its context were two.
 */
class Forwarding implements ForwardListener {
  constructor(
    readonly incoming: IncomingMessage,
    readonly outgoing: ServerResponse,
    readonly outcome: Allowed,
    readonly requestId: string,
    readonly trace: TraceContext,
    readonly started: number,
    readonly traceStart: number,
    readonly authorized: number,
    readonly forwardStart: number,
    private readonly after: (f: Forwarding, result: ProxyResult) => void,
  ) {}

  forwarded(result: ProxyResult): void {
    this.after(this, result);
  }
}

/** The `outcome` label of `iamgate_requests_total` for a rejection. */
export function rejectionOutcome(code: string): string {
  switch (code) {
    case 'access_denied':
      return 'denied';
    case 'bad_path':
    case 'unicode_lookalike':
    case 'ambiguous_parameter':
    case 'bad_header':
    case 'forward_auth_ambiguous':
    case 'forward_auth_incomplete':
    case 'ext_authz_incomplete':
    case 'ext_authz_ambiguous':
      return 'bad_request';
    default:
      return code;
  }
}

export interface ProxyHandlers {
  /**
   * Handles one request end to end, at once when nothing had to wait, otherwise from the callback
   * of what it waited for (the audit record's write, a token's verification): no Promise is made
   * for the wait. A forwarded request finishes later, through its upstream callback.
   */
  handle(incoming: IncomingMessage, outgoing: ServerResponse): undefined;
  /** Handles an HTTP upgrade (WebSocket): authorised like any request, then tunnelled. */
  upgrade(incoming: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

export function createProxyHandlers(deps: HandlerDeps): ProxyHandlers {
  const { pipeline, upstream, metrics, audit, logger, forwarding, assertion } = deps;
  const nextId = deps.requestId ?? createIdSource();
  const traceIds = deps.traceIds ?? createTraceIds();
  const tracer = deps.tracer;

  /** Hands a finished request to the tracer (only called when one is configured). */
  function traceRequest(incoming: IncomingMessage, trace: TraceContext, requestId: string, outcome: PipelineOutcome, start: number, authorized: number, upstream: { start: number; end: number; outcome: string } | undefined, status: number): void {
    (tracer as RequestTracer).record({
      trace,
      requestId,
      method: incoming.method ?? 'GET',
      path: outcome.event.path ?? '',
      reason: outcome.event.reason,
      status,
      principal: outcome.event.principal?.arn,
      start,
      authorized,
      upstream,
      end: preciseNow(),
    });
  }

  function upstreamPath(allowed: Allowed): string {
    return allowed.target.query === undefined ? allowed.target.path : `${allowed.target.path}?${allowed.target.query}`;
  }

  const headerPlan = createRequestHeaderPlan({
    forwardAuthorization: forwarding.forwardAuthorization,
    preserveHost: forwarding.preserveHost,
    passThrough: forwarding.passThrough,
    assertionHeader: assertion?.header,
    replacesTrace: true,
  });

  function upstreamHeaders(incoming: IncomingMessage, allowed: Allowed, requestId: string, trace: TraceContext): string[] {
    return headerPlan.build(incoming.rawHeaders, {
      trustedPeer: allowed.trustedPeer,
      peerAddress: incoming.socket.remoteAddress ?? '',
      proto: allowed.secure ? 'https' : 'http',
      identity: allowed.principal,
      requestId,
      assertion: assertion?.issue(allowed.principal, requestId),
      trace: { traceparent: traceparentOf(trace), tracestate: trace.tracestate },
    });
  }

  const outcomes = deps.outcomes ?? AUDIT_DEFAULTS.outcomes;

  /** Records what followed an allowed decision, when `outcomes` asks for it; never fails the request. */
  function recordOutcome(requestId: string, result: ProxyResult, upstreamMs: number, trace: TraceContext): void {
    if (outcomes === 'none' || (outcomes === 'failures' && result.ok)) return;
    const status = result.ok ? result.status : result.status ?? failureStatus(result.failure);
    const event = {
      kind: 'outcome' as const,
      reason: result.ok ? 'completed' : result.failure,
      requestId,
      status,
      traceId: trace.traceId,
      upstream: result.ok ? { status, latencyMs: Math.round(upstreamMs) } : { latencyMs: Math.round(upstreamMs), error: result.failure },
    };
    try {
      const pending = audit.record(event);
      if (pending) pending.catch((err: unknown) => logger.warn({ requestId, err }, 'outcome event not recorded'));
    } catch (err) {
      logger.warn({ requestId, err }, 'outcome event not recorded');
    }
  }

  function finishRequest(outcome: string, started: number): void {
    metrics.count.request(outcome);
    metrics.totalSeconds.observe((performance.now() - started) / 1000);
  }

  /** Writes a rejection (a failed pipeline's audited 500 included) and counts it. */
  function reject(incoming: IncomingMessage, outgoing: ServerResponse, outcome: Rejected, requestId: string, trace: TraceContext, started: number, traceStart: number): void {
    const authorized = tracer ? preciseNow() : 0;
    writeJson(incoming, outgoing, outcome.status, outcome.body, requestId, outcome.headers);
    finishRequest(rejectionOutcome(outcome.code), started);
    if (tracer) traceRequest(incoming, trace, requestId, outcome, traceStart, authorized, undefined, outcome.status);
  }

  /** Forwards an allowed request exactly as authorised; `forwarded` records what followed. */
  function forward(incoming: IncomingMessage, outgoing: ServerResponse, outcome: Allowed, requestId: string, trace: TraceContext, started: number, traceStart: number): void {
    const authorized = tracer ? preciseNow() : 0;
    // Without a Content-Length or Transfer-Encoding line there is no body (planBody would read the
    // same from `incoming.headers`, an object Node builds on first use).
    const body = outcome.headers.framesBody ? planBody(incoming, forwarding.maxBodyBytes, forwarding.bodyIdleTimeoutMs) : NO_BODY;
    if (body.kind === 'stream' && outcome.headers.expect?.toLowerCase() === '100-continue') outgoing.writeContinue();
    const request = new Forwarding(incoming, outgoing, outcome, requestId, trace, started, traceStart, authorized, performance.now(), forwarded);
    if (body.kind === 'too_large') {
      request.forwarded({ ok: false, failure: 'body_too_large', responded: false, status: undefined, cause: 'content-length over limit' });
      return;
    }
    if (body.kind === 'failed') {
      request.forwarded({ ok: false, failure: body.error.failure, responded: false, status: undefined, cause: body.error.code });
      return;
    }
    upstream.forward(
      { method: incoming.method ?? 'GET', path: upstreamPath(outcome), headers: upstreamHeaders(incoming, outcome, requestId, trace), body: body.kind === 'stream' ? body.body : null, requestId },
      outgoing,
      request,
    );
  }

  /** What follows a forwarded request's end: the caller's error answer if none was written, the outcome record, metrics, the trace. */
  function forwarded(f: Forwarding, result: ProxyResult): void {
    const { incoming, outgoing, requestId, trace, authorized } = f;
    const upstreamMs = performance.now() - f.forwardStart;
    metrics.upstreamSeconds.observe({ outcome: result.ok ? 'completed' : result.failure }, upstreamMs / 1000);
    if (!result.ok && !result.responded && result.failure !== 'client_closed') {
      writeError(incoming, outgoing, result.failure, requestId);
    }
    if (!result.ok) logger.warn({ requestId, failure: result.failure, cause: result.cause }, 'forwarding failed');
    recordOutcome(requestId, result, upstreamMs, trace);
    finishRequest(result.ok ? 'allowed' : result.failure, f.started);
    if (tracer) {
      const status = result.ok ? result.status : result.status ?? failureStatus(result.failure);
      const upstream = { start: authorized, end: authorized + upstreamMs, outcome: result.ok ? 'completed' : result.failure };
      traceRequest(incoming, trace, requestId, f.outcome, f.traceStart, authorized, upstream, status);
    }
  }

  /**
   * Answers one decided request: the request forwarded as authorised, or the rejection. A rejection
   * decided while Node is still parsing the request (a synchronous decision, inside the 'request'
   * event) is written on the next tick, once a request without a body is complete: written at once,
   * it would close the connection (respond.ts closes it when the caller's body was not read).
   */
  function respond(incoming: IncomingMessage, outgoing: ServerResponse, outcome: PipelineOutcome, requestId: string, trace: TraceContext, started: number, traceStart: number): void {
    if (outcome.kind === 'allow') forward(incoming, outgoing, outcome, requestId, trace, started, traceStart);
    else if (incoming.complete) reject(incoming, outgoing, outcome, requestId, trace, started, traceStart);
    else process.nextTick(reject, incoming, outgoing, outcome, requestId, trace, started, traceStart);
  }

  return {
    handle(incoming, outgoing) {
      const started = performance.now();
      const requestId = nextId();
      const trace = traceOf(incoming.rawHeaders, traceIds);
      const traceStart = tracer ? preciseNow() : 0;
      pipeline.answerThen(requestFacts(incoming, requestId, deps.now(), trace), 'proxy', (outcome) => respond(incoming, outgoing, outcome, requestId, trace, started, traceStart));
      return undefined;
    },

    async upgrade(incoming, socket, head) {
      const started = performance.now();
      const requestId = nextId();
      socket.on('error', () => socket.destroy());
      const trace = traceOf(incoming.rawHeaders, traceIds);
      const facts = requestFacts(incoming, requestId, deps.now(), trace);
      const outcome = await pipeline.run(facts, 'websocket');
      if (outcome.kind === 'reject') {
        writeSocketJson(socket, outcome.status, outcome.body, requestId, outcome.headers);
        deps.refusedUpgrade?.(outcome.code);
        finishRequest(rejectionOutcome(outcome.code), started);
        return;
      }
      const forwardStart = performance.now();
      const result = await upstream.upgrade(
        { method: incoming.method ?? 'GET', path: upstreamPath(outcome), headers: upstreamHeaders(incoming, outcome, requestId, trace), body: null, requestId },
        socket,
        head,
        // One valid key: checked before the request was decided (upgradeRefusal).
        headerValue(incoming.rawHeaders, 'sec-websocket-key') ?? '',
        (upstreamSocket) => deps.tunnels?.open({ facts, principal: outcome.principal, event: outcome.event }, socket, upstreamSocket),
      );
      const upstreamMs = performance.now() - forwardStart;
      if (!result.ok && result.failure !== 'client_closed') {
        writeSocketError(socket, result.failure, requestId);
        logger.warn({ requestId, failure: result.failure, cause: result.cause }, 'upgrade failed');
      }
      recordOutcome(requestId, result, upstreamMs, trace);
      finishRequest(result.ok ? 'allowed' : result.failure, started);
    },
  };
}
