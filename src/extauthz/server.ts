// Envoy's external authorization server over gRPC (envoy.service.auth.v3.Authorization/Check) and
// grpc.health.v1 on the same port. Each Check runs the HTTP gateway's pipeline (path rules,
// authentication, route map, decide, audit) on the facts the check describes: one audit record
// (`kind: ext_authz`) per check, and the answer Envoy gives the caller matches the HTTP gateway's.
import { createServer, type AddressInfo } from 'node:net';
import { format } from 'node:util';
import { Gauge } from 'prom-client';
import { Server, ServerCredentials, setLogger, status as GrpcStatus, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { trackSockets, type FrontDoor, type FrontDoorDeps, type PipelineOverride, type Refusal, type RequestFacts } from '../gateway/index.js';
import { readCheckRequest, type CheckLimits, type CheckRequestMessage } from './check-request.js';
import { checkResponse, type CheckResponseMessage } from './check-response.js';
import type { ExtAuthzLimits } from './config.js';
import { createInFlightBudget } from './in-flight.js';
import { oneCheckPerCall, type WrongCountAnswer } from './one-check.js';
import { loadExtAuthzServices } from './protos.js';

/** The service names a health check may ask about ('' is the server as a whole). */
const HEALTH_SERVICES: ReadonlySet<string> = new Set(['', 'envoy.service.auth.v3.Authorization']);

/**
 * The largest CheckRequest decoded (grpc-js fails a larger one with RESOURCE_EXHAUSTED before any
 * handler runs: no record, and Envoy's failure mode answers). Envoy's header block is at most
 * 8 MiB (`max_request_headers_kb`'s ceiling) and a check carries the path twice (`path` and
 * `:path`), so every check Envoy builds from headers alone fits, and is refused by the gateway's
 * own limits with its record. grpc-js's default is 4 MiB.
 */
export const MAX_CHECK_BYTES = 24 * 1024 * 1024;

/** The path of the Check method, as gRPC names it on the wire. */
const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

/** grpc.health.v1 ServingStatus numbers. */
const SERVING = 1;
const NOT_SERVING = 2;

/** The gateway's (`ready` is the health answer), and the header rules of its proxy. */
export interface ExtAuthzDeps extends FrontDoorDeps {
  readonly limits: CheckLimits;
  /** Keep the caller's Authorization header for the upstream (upstream.forwardAuthorization). */
  readonly forwardAuthorization: boolean;
  /** Identity headers the caller may still send upstream (headers.passThrough), lower-case. */
  readonly passThrough: ReadonlySet<string>;
  /** Lower-case header of the HTTP gateway's signed assertion (assertion.header, or its default). */
  readonly assertionHeader: string;
  /** What one client may hold of the server (extAuthz.grpc). */
  readonly serverLimits: ExtAuthzLimits;
  /** How long calls on a connection that reached its age may still run (shutdown.graceMs). */
  readonly connectionGraceMs: number;
}

/** The running server: its `host:port`, and a close that lets checks in flight finish up to `graceMs`. */
export type ExtAuthzServer = FrontDoor;

/**
 * The Check handler: never fails the call for a bad request (Envoy would apply its own failure
 * mode instead of iamgate's answer); every problem is a denied CheckResponse. `gaveUp` says,
 * once the check is decided, whether Envoy abandoned the call meanwhile.
 */
export function createCheckHandler(deps: ExtAuthzDeps): (request: CheckRequestMessage, gaveUp?: () => boolean) => Promise<CheckResponseMessage> {
  const nextId = deps.requestId;
  const { pipeline, metrics } = deps;
  const budget = createInFlightBudget(deps.serverLimits.maxChecksInFlight, deps.serverLimits.maxCheckBytesInFlight);
  // Read at the scrape, so the hot path only counts.
  const registers = [metrics.registry];
  new Gauge({
    name: 'iamgate_ext_authz_checks_in_flight',
    help: 'ext_authz checks being decided now',
    registers,
    collect() {
      this.set(budget.checks());
    },
  });
  new Gauge({
    name: 'iamgate_ext_authz_check_bytes_in_flight',
    help: 'Bytes of the ext_authz checks being decided now, as received',
    registers,
    collect() {
      this.set(budget.bytes());
    },
  });
  return async (request, gaveUp) => {
    const size = request.wireBytes ?? 0;
    // Past the budget the check is refused before anything that can wait (authentication, keys,
    // Redis) is asked: the answer and its record come at once, and nothing more is held.
    const admitted = budget.admit(size);
    try {
      const started = performance.now();
      const requestId = nextId();
      const now = deps.now();
      const reading = readCheckRequest(request, requestId, now, deps.limits);
      const refusal = admitted ? reading.refusal : overloaded(budget.checks(), budget.bytes());
      // The peer's SPIFFE ID travels in the facts: the authenticator chain decides whether it is the caller.
      const override: PipelineOverride | undefined = refusal ? { refusal } : undefined;
      // A fail-safe pipeline never rejects: whatever fails inside is already an audited answer.
      const outcome = await pipeline.run(reading.facts, 'ext-authz', override);
      metrics.requests.inc({ outcome: `ext_authz_${outcome.kind === 'allow' ? 'allowed' : outcome.code}` });
      metrics.totalSeconds.observe((performance.now() - started) / 1000);
      if (gaveUp?.() === true) recordAbandoned(deps, requestId);
      return checkResponse(outcome, reading.facts.rawHeaders, deps);
    } finally {
      if (admitted) budget.release(size);
    }
  };
}

/** The refusal of a check past the in-flight budget, with what was in flight for the record. */
function overloaded(checks: number, bytes: number): Refusal {
  return { code: 'ext_authz_overloaded', detail: `${checks} checks of ${bytes} bytes in flight` };
}

/** The status an `outcome` names for an answer its asker gave up on (nginx's 499). */
const CLIENT_CLOSED_STATUS = 499;

/**
 * Records that a check's answer reached no one: Envoy gave up on the call (its timeout, which
 * grpc-js enforces as the call's deadline, or its own end) while iamgate decided, and answered
 * the caller by its failure mode instead. The decision record stays; this `outcome` (reason
 * `client_closed`, as for a proxied request whose caller left) says it was never applied.
 */
function recordAbandoned(deps: ExtAuthzDeps, requestId: string): void {
  try {
    const pending = deps.audit.record({ kind: 'outcome', reason: 'client_closed', status: CLIENT_CLOSED_STATUS, requestId });
    if (pending) pending.catch((err: unknown) => deps.logger.warn({ requestId, err }, 'outcome event not recorded'));
  } catch (err) {
    deps.logger.warn({ requestId, err }, 'outcome event not recorded');
  }
}

/**
 * The service with a Check decoder that never throws: bytes that are not a CheckRequest become a
 * message the reader refuses (400 `ext_authz_malformed`, audited), where grpc-js would fail the
 * call with INTERNAL, leaving no record and Envoy to its own failure mode (which may allow).
 */
function undecodableAsRefusal(service: ServiceDefinition): ServiceDefinition {
  const check = service['Check'];
  if (!check) throw new TypeError('proto/ lacks Authorization.Check');
  const decode = check.requestDeserialize;
  const requestDeserialize = (bytes: Buffer): CheckRequestMessage => {
    try {
      const message = decode(bytes) as { wireBytes?: number };
      message.wireBytes = bytes.length;
      return message as CheckRequestMessage;
    } catch (err) {
      return { malformed: err instanceof Error ? err.message.slice(0, 200) : 'undecodable', wireBytes: bytes.length };
    }
  };
  return { ...service, Check: { ...check, requestDeserialize } };
}

/**
 * Sends the gRPC library's own messages (by default written to stderr as `E <text>`) through the
 * gateway's logger, so every line iamgate writes is one JSON line, redacted like the rest. The
 * library keeps one logger per process: the last server started holds it, which is the one
 * gateway a process runs.
 */
function routeGrpcMessages(logger: FrontDoorDeps['logger']): void {
  const line =
    (level: 'warn' | 'info' | 'debug') =>
    (message?: unknown, ...rest: unknown[]): void =>
      logger[level]({ source: 'grpc' }, format(message, ...rest));
  setLogger({ error: line('warn'), info: line('info'), debug: line('debug') });
}

/** Starts the gRPC server on `host:port`; resolves once it listens. */
export async function startExtAuthzServer(deps: ExtAuthzDeps, host: string, port: number): Promise<ExtAuthzServer> {
  routeGrpcMessages(deps.logger);
  const services = loadExtAuthzServices();
  const check = createCheckHandler(deps);
  const limits = deps.serverLimits;
  /**
   * A check that failed outside the pipeline (reading the message): still an answer (a deny) with
   * its one record, never a failed call or a crash. Nothing of the message is trusted here, nor the
   * clock (it may be what failed).
   */
  const failed = (err: unknown): Promise<CheckResponseMessage> => {
    const facts: RequestFacts = { requestId: deps.requestId(), method: '', target: '', rawHeaders: [], peerAddress: '', secure: false, now: Number.NaN };
    return deps.pipeline.failure(err, facts, 'ext-authz').then((outcome) => checkResponse(outcome, [], deps));
  };
  /** A Check call without exactly one CheckRequest: refused and recorded as a check, answered on the call itself (the handler never runs). */
  const wrongCount: WrongCountAnswer = (call, count, gaveUp) => {
    const send = (response: CheckResponseMessage): void => call.sendMessage(response, () => call.sendStatus({ code: GrpcStatus.OK, details: 'OK' }));
    void check({ checkCount: count }, gaveUp).then(send, (err: unknown) => void failed(err).then(send));
  };
  // Each connection is bounded in calls and in time: a dead peer is found by an unanswered ping,
  // an unused connection is closed, and every connection ends (GOAWAY, then its calls' grace), so
  // a call that never finishes sending its check cannot hold its bytes for longer than that.
  const server = new Server({
    'grpc.max_receive_message_length': MAX_CHECK_BYTES,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
    'grpc.max_connection_age_ms': limits.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': deps.connectionGraceMs,
    interceptors: [oneCheckPerCall(CHECK_PATH, wrongCount)],
  });
  server.addService(undecodableAsRefusal(services.authorization), {
    Check(call: ServerUnaryCall<CheckRequestMessage, CheckResponseMessage>, callback: sendUnaryData<CheckResponseMessage>) {
      void check(call.request, () => call.cancelled).then(
        (response) => callback(null, response),
        (err: unknown) => void failed(err).then((response) => callback(null, response)),
      );
    },
  });
  server.addService(services.health, {
    Check(call: ServerUnaryCall<{ service?: string }, { status: number }>, callback: sendUnaryData<{ status: number }>) {
      const service = call.request.service ?? '';
      if (!HEALTH_SERVICES.has(service)) {
        callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service ${service}` });
        return;
      }
      callback(null, { status: deps.ready() ? SERVING : NOT_SERVING });
    },
  });
  // iamgate listens itself and hands each connection to gRPC, which bounds what a connection may
  // hold but not how many there are: past maxConnections, Node closes a connection as it arrives,
  // before it is read, counted in iamgate_refused_connections_total{listener="ext_authz"}. A taken
  // port fails here with Node's own EADDRINUSE error.
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const listener = createServer((socket) => injector.injectConnection(socket));
  listener.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const sockets = trackSockets(listener, {
    name: 'ext_authz',
    metrics: deps.sockets,
    maxConnections: limits.maxConnections,
    now: deps.now,
    onError: (err) => deps.logger.warn({ err: err.message }, 'ext_authz listener error'),
  });
  const bound = (listener.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  const local = shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown;
  return {
    address: `${local}:${bound}`,
    close(graceMs) {
      listener.close();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          sockets.destroyAll();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          // A connection that never became a gRPC session (no HTTP/2 preface yet) is not gRPC's to close.
          sockets.destroyAll();
          resolve();
        });
      });
    },
  };
}
