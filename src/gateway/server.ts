// Starting and stopping a gateway: the operations listener, the gateway listener (with WebSocket
// upgrades), the policy snapshot swapped atomically on (re)load, and a graceful close that stops
// accepting, lets in-flight requests finish up to a deadline, and flushes the audit trail.
import { getRequestListener } from '@hono/node-server';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Hono } from 'hono';
import type { AssertionIssuer } from '../assertion/index.js';
import type { RequestTracer } from '../trace/index.js';
import type { Logger } from 'pino';
import type { PeerAuthenticator } from '../auth/index.js';
import { finding, printable } from '../config/findings.js';
import { fileErrorReason, type GatewayConfig } from '../config/index.js';
import type { Finding } from '../policy/index.js';
import { createUpstream, endRefused, RequestBodyError, type HeadersConfig, type Upstream } from '../proxy/index.js';
import { adapterFetch, createGatewayApp, type GatewayEnv } from './app.js';
import { createIdSource, withoutBearerToken, type AuditOutcomes } from '../audit/index.js';
import { createLogAuditSink, type AuditSink } from './audit.js';
import type { Authenticator } from './auth.js';
import { NO_DECISION_CACHE, type DecisionCache } from './cache.js';
import { compileTrustedProxies } from './context.js';
import { createDecider } from './decide.js';
import { UNSUPPORTED_CONNECT, UNSUPPORTED_UPGRADE, upgradeRefusal } from './described-framing.js';
import { failSafe, type FailSafePipeline } from './failsafe.js';
import { createForwardAuthHandler } from './forward-auth.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
import { createOperationsApp, operationsRequestError, type Readiness, type ReloadReport } from './operations.js';
import { createPipeline, type Pipeline, type PolicySnapshot } from './pipeline.js';
import { createProxyHandlers } from './proxy-handler.js';
import { createRefusals } from './refusals.js';
import { createShadowLog } from './shadow.js';
import { closingSocket, writeOperatorSocketError } from './respond.js';
import { createSocketMetrics, descriptorLimit, descriptorShortage, trackSockets, type SocketMetrics } from './sockets.js';
import { createTunnelRegistry, type TunnelRegistryDeps, type Tunnels } from './tunnels.js';
import { createPolicyWatch } from './watch.js';

/**
 * What a policy load yields: everything compiled, or every problem found; and the files it read
 * (or tried to), whose folders are watched when `policies.watch` is on.
 */
export type PolicyLoad =
  | { readonly ok: true; readonly snapshot: Omit<PolicySnapshot, 'generation'>; readonly findings: readonly Finding[]; readonly files?: readonly string[] }
  | { readonly ok: false; readonly findings: readonly Finding[]; readonly files?: readonly string[] };

/** Loads and compiles the directory, policies, route map and authenticator; called at start and on reload. */
export type PolicyLoader = () => Promise<PolicyLoad>;

/**
 * What a load did, told synchronously as it takes effect: the snapshot now serving, or (on
 * failure) the generation that keeps serving (undefined before any load succeeded).
 */
export type LoadNotice = { readonly ok: true; readonly snapshot: PolicySnapshot } | { readonly ok: false; readonly generation: number | undefined };

/** What a front door on its own listener is given to answer from the gateway's pipeline. */
export interface FrontDoorDeps {
  /** The gateway's pipeline, wrapped so that a throw is an audited 500. */
  readonly pipeline: FailSafePipeline;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** The gateway can decide (policies loaded, not shutting down). */
  readonly ready: () => boolean;
  /** The gateway's one source of request ids, so a front door's ids never collide with the others'. */
  readonly requestId: () => string;
  /** The gateway's audit sink, for what befalls an answer after its decision (an `outcome`). */
  readonly audit: AuditSink;
  /** The listeners' connection metrics, which a front door's own listener reports in too. */
  readonly sockets: SocketMetrics;
}

/** A front door on its own listener, started with the gateway and closed with it. */
export interface FrontDoor {
  /** `host:port` it listens on (the real port when configured as 0). */
  readonly address: string;
  /** Stops accepting, lets what is in flight finish up to `graceMs`, then closes every connection. */
  close(graceMs: number): Promise<void>;
}

export interface GatewayOptions {
  /** The shared keys, and the proxy's `headers` section. */
  readonly config: Omit<GatewayConfig, 'sections'> & { readonly headers: HeadersConfig };
  readonly load: PolicyLoader;
  readonly logger: Logger;
  readonly cache?: DecisionCache;
  readonly audit?: AuditSink;
  /** Which allowed requests also get an `outcome` record (`audit.outcomes`; default `failures`). */
  readonly outcomes?: AuditOutcomes;
  readonly metrics?: GatewayMetrics;
  /** Mounts other reserved endpoints on the gateway app (STS, JWKS). */
  readonly mount?: (app: Hono<GatewayEnv>) => void;
  /** Signs an identity assertion for the upstream with each forwarded request. */
  readonly assertion?: AssertionIssuer;
  /** Exports one span per stage of each proxied request (OpenTelemetry). */
  readonly tracer?: RequestTracer;
  /** Mounts other endpoints on the operations app (the audit trail's public key). */
  readonly mountOperations?: (app: Hono) => void;
  /** Why, beyond the policies, the gateway cannot serve yet (asked on every /readyz; empty when it can). */
  readonly notReady?: () => readonly string[];
  /** A session's credential now, as the revocation list answers: asked as a WebSocket tunnel opens (TunnelRegistryDeps.sessionRevocation). */
  readonly sessionRevocation?: TunnelRegistryDeps['sessionRevocation'];
  /** Workload identity from the mesh peer for ext_authz checks (extAuthz.grpc.peerIdentity): a member of the authenticator chain. */
  readonly peerAuthenticator?: PeerAuthenticator;
  /** Configuration that serves but helps no one (e.g. no trusted issuer), shown on /readyz. */
  readonly warnings?: readonly string[];
  /**
   * Applied to each problem of a failed load before it is shown anywhere (/readyz, the reload's
   * answer, the log): problems quote the values at fault, which may be a token or a secret.
   */
  readonly redactProblem?: (problem: string) => string;
  /**
   * Opens the gateway listener only once the gateway is ready (policies loaded, `notReady` empty).
   * For a worker sharing its listener with others (`serve --workers`): until it listens, its
   * siblings take every connection, so none is answered 503 by a worker still starting.
   */
  readonly listenWhenReady?: boolean;
  /**
   * Starts Envoy's gRPC external authorization server (`extAuthz.grpc`, built by the composition
   * root) on the gateway's pipeline, once the gateway listens; absent when not configured.
   */
  readonly extAuthz?: (deps: FrontDoorDeps) => Promise<FrontDoor>;
  /**
   * Told of every load in the same turn as it takes effect (the audit record, the announcement to
   * other replicas): nothing runs between installing a snapshot and this call.
   */
  readonly onLoad?: (notice: LoadNotice) => void;
  readonly now?: () => number;
  /**
   * Names every request and refusal of the gateway, its front doors and its reserved endpoints'
   * failures. The composition root shares it with the STS, so no two answers carry one id.
   * Default: a source of its own.
   */
  readonly requestId?: () => string;
}

export interface Gateway {
  /** `http://host:port` of the gateway listener (the real port when configured as 0), for clients: loopback when bound to every interface. */
  readonly url: string;
  readonly opsUrl: string;
  /** `host:port` of the gRPC ext_authz server, when `extAuthz.grpc.port` is set. */
  readonly extAuthzAddress?: string;
  /** The addresses actually bound (`0.0.0.0:8400`, `[::1]:8401`): what the start-up log names. */
  readonly bound: { readonly gateway: string; readonly operations: string };
  readonly metrics: GatewayMetrics;
  /** The first policy load; serve waits for it and exits when it fails. */
  readonly initialLoad: Promise<ReloadReport>;
  readiness(): Readiness;
  /** Loads the policies again and swaps them in whole; on failure the previous ones keep serving. */
  reload(): Promise<ReloadReport>;
  /** The policy snapshot serving now (undefined until the first load succeeds). */
  snapshot(): PolicySnapshot | undefined;
  /** Requests being handled (upgraded connections included). */
  inFlight(): number;
  /** The open WebSocket tunnels: told of revoked sessions, decided again after each reload, closed at shutdown. */
  readonly tunnels: Pick<Tunnels, 'revoked' | 'size'>;
  /** Stops accepting, waits up to `graceMs` for in-flight requests, then closes everything and flushes the audit trail. */
  close(graceMs?: number): Promise<void>;
}

/** The `outcome` of `iamgate_requests_total` for a request pipelined behind an answer that closed its connection. */
const UNSERVED = 'pipelined_after_close';

/** How often a gateway that listens only when ready asks whether it is, ms. */
const READY_POLL_MS = 25;

/** Quiet time after the last change to a policy file before reloading, ms (one reload per save or ConfigMap update). */
const WATCH_DEBOUNCE_MS = 200;

function formatFinding(f: Finding): string {
  return printable(`${f.file ?? ''}${f.file ? ': ' : ''}${f.path ? `${f.path}: ` : ''}${f.message} [${f.code}]`);
}

/**
 * A target @hono/node-server answers 400 on its own, before any handler runs: not origin-form and
 * not absolute (`*`), or a backslash in the path.
 */
function adapterRefuses(target: string): boolean {
  if (!target.startsWith('/')) return !target.startsWith('http://') && !target.startsWith('https://');
  const query = target.indexOf('?');
  return (query < 0 ? target : target.slice(0, query)).includes('\\');
}

/** A Host the adapter takes as it is (its own test): anything else goes through it, to be refused as it would be. */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/**
 * A request that can only reach the proxy handler: origin-form, not `//` (a host to a URL parser),
 * no `/.` or `%` in its path, so no spelling, dot segment or encoding can route it to a reserved
 * endpoint (all under `/.iamgate/` and `/.well-known/`), and a Host the adapter accepts. These skip
 * hono and its Request objects; anything else goes through the app, as before.
 */
function plainDataPath(target: string, host: string | undefined): boolean {
  if (host === undefined || !PLAIN_HOST.test(host)) return false;
  if (target.charCodeAt(0) !== 0x2f || target.charCodeAt(1) === 0x2f) return false;
  const query = target.indexOf('?');
  const end = query < 0 ? target.length : query;
  const dot = target.indexOf('/.');
  const percent = target.indexOf('%');
  return (dot < 0 || dot >= end) && (percent < 0 || percent >= end);
}

/** The first Host value, as `req.headers.host` gives it, read from the raw list (no header object is built). */
function hostOf(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') return raw[i + 1];
  }
  return undefined;
}

/**
 * Runs `then` once the answer to a request pipelined before an upgrade or CONNECT on the same
 * connection has been written (at once when there is none): node:http hands over the socket as
 * soon as it parses the upgrade, and an answer written then would cut off, or be cut into, the one
 * before. A connection gone meanwhile is closed without handling the upgrade, which is never decided.
 */
function afterAnswerInFlight(socket: Duplex, then: () => void): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!inFlight) {
    then();
    return;
  }
  inFlight.once('close', () => {
    if (socket.destroyed) return;
    then();
  });
}

/** Listens; resolves to the URL clients use and the address actually bound. */
async function listen(server: Server, port: number, host: string): Promise<{ url: string; bound: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${address.port}`, bound: `${shown}:${address.port}` };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** Starts both listeners and the first policy load; resolves once both listen. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, logger } = options;
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? createGatewayMetrics({ processMetrics: true });
  const audit = options.audit ?? createLogAuditSink(logger);
  let snapshot: PolicySnapshot | undefined;
  let generation = 0;
  let loadedAt: string | undefined;
  let lastFailure: readonly string[] = [];
  let closing = false;

  const shadowLog = createShadowLog((direction) => metrics.shadowDisagreements.inc({ direction }));
  const trustedProxies = compileTrustedProxies(config.trustedProxies);
  const stages = createPipeline({
    shadowLog,
    snapshot: () => snapshot,
    decider: createDecider(options.cache ?? NO_DECISION_CACHE),
    audit,
    metrics,
    pathRules: { maxLength: config.limits.maxTargetLength, allowSemicolon: config.paths.allowSemicolon, allowTrailingDot: config.paths.allowTrailingDot, allowDoubleEncoding: config.paths.allowDoubleEncoding, refuseNonNfkc: config.paths.refuseNonNfkc },
    trustedProxies,
    explainToCaller: config.decisions.explainToCaller,
    realm: 'iamgate',
    peerAuthenticator: options.peerAuthenticator,
    // A detail may quote the caller's input (an unverified token's issuer): a token there is redacted as in records.
    onDetail: (requestId, code, detail) => logger.info({ requestId, code, detail: withoutBearerToken(detail) }, 'request rejected'),
  });
  const pipeline = failSafe(stages, { audit, logger, metrics, trustedProxies, generation: () => snapshot?.generation });
  const upstream: Upstream = createUpstream(config.upstream);
  const tunnelRegistry = createTunnelRegistry({
    audit,
    logger,
    now,
    maxLifetimeMs: config.websocket.maxLifetimeMs,
    generation: () => snapshot?.generation,
    redecide: async (facts) => pipeline.run(facts, 'tunnel'),
    onClose: (reason) => metrics.tunnelsClosed.inc({ reason }),
    ...(options.sessionRevocation ? { sessionRevocation: options.sessionRevocation } : {}),
  });
  const nextId = options.requestId ?? createIdSource();
  const handlers = createProxyHandlers({
    requestId: nextId,
    pipeline,
    upstream,
    metrics,
    audit,
    ...(options.outcomes ? { outcomes: options.outcomes } : {}),
    logger,
    now,
    tunnels: tunnelRegistry,
    forwarding: { forwardAuthorization: config.upstream.forwardAuthorization, preserveHost: config.upstream.preserveHost, passThrough: new Set(config.headers.passThrough), maxBodyBytes: config.limits.maxBodyBytes, bodyIdleTimeoutMs: config.upstream.idleTimeoutMs },
    refusedUpgrade: (reason) => gatewaySockets.refused(reason),
    ...(options.assertion ? { assertion: options.assertion } : {}),
    ...(options.tracer ? { tracer: options.tracer } : {}),
  });
  const app = createGatewayApp({
    proxy: handlers.handle,
    ...(config.forwardAuth.enabled ? { forwardAuth: createForwardAuthHandler({ pipeline, metrics, logger, now, requestId: nextId }) } : {}),
    ...(options.mount ? { mount: options.mount } : {}),
    // A body that could never arrive whole is the caller's failure, answered and recorded as such.
    onError: (err) => {
      if (err instanceof RequestBodyError) logger.info({ failure: err.failure }, 'reserved endpoint refused an unfinished body');
      else logger.error({ err }, 'reserved endpoint failed');
    },
    requestId: nextId,
  });

  const readiness = (): Readiness => {
    const reasons: string[] = [];
    if (closing) reasons.push('shutting down');
    if (!snapshot) reasons.push(generation === 0 && lastFailure.length === 0 ? 'policies are loading' : 'policies failed to load');
    reasons.push(...lastFailure);
    const waiting = [...(options.notReady?.() ?? []), ...gatewaySockets.saturation(now()), ...opsSockets.saturation(now()), ...descriptorShortage(fdLimit)];
    reasons.push(...waiting);
    const warnings = options.warnings && options.warnings.length > 0 ? { warnings: options.warnings } : {};
    return { ready: snapshot !== undefined && !closing && waiting.length === 0, reasons, ...warnings, ...(snapshot ? { generation: snapshot.generation } : {}), ...(loadedAt ? { loadedAt } : {}) };
  };

  // Policy files changing on disk reload them as SIGHUP does. Watched: the configured files, those the
  // last good load read, and those the last attempt read (so fixing a broken file is seen too).
  let goodFiles: readonly string[] = [];
  const policyWatch = config.policies.watch
    ? createPolicyWatch({
        debounceMs: WATCH_DEBOUNCE_MS,
        onChange: () => {
          logger.info('policy files changed; reloading');
          void reload();
        },
        onError: (folder, err) => logger.warn({ folder, err: fileErrorReason(err) }, 'cannot watch a policy folder'),
      })
    : undefined;
  const watchFiles = (attempted: readonly string[]): void => policyWatch?.watch([config.policies.directory, config.policies.routes, ...goodFiles, ...attempted]);

  const redactProblem = options.redactProblem ?? ((problem: string): string => problem);
  const loadOnce = async (): Promise<ReloadReport> => {
    let result: PolicyLoad;
    try {
      result = await options.load();
    } catch (err) {
      result = { ok: false, findings: [finding('LOAD_FAILED', '', err instanceof Error ? err.message : String(err), undefined)] };
    }
    if (result.ok) goodFiles = result.files ?? [];
    watchFiles(result.files ?? []);
    const problems = result.findings.filter((f) => f.severity === 'error').map((f) => redactProblem(formatFinding(f)));
    if (!result.ok) {
      options.onLoad?.({ ok: false, generation: snapshot?.generation });
      metrics.reloads.inc({ result: 'failure' });
      lastFailure = problems.length > 0 ? problems : ['policies failed to load'];
      logger.error({ problems: lastFailure }, snapshot ? 'policy reload failed; the previous policies keep serving' : 'policies failed to load');
      return { ok: false, problems: lastFailure };
    }
    generation += 1;
    // Built whole by the loader; installed by this one assignment, and told in the same turn.
    const installed: PolicySnapshot = { ...result.snapshot, generation };
    snapshot = installed;
    options.onLoad?.({ ok: true, snapshot: installed });
    loadedAt = new Date(now()).toISOString();
    lastFailure = [];
    metrics.reloads.inc({ result: 'success' });
    for (const f of result.findings) logger.warn({ finding: f }, 'policy finding');
    logger.info({ generation, digest: snapshot.digest, routes: snapshot.routes.routeCount }, 'policies loaded');
    // Open tunnels were authorised by the previous generation: decided again before the reload reports.
    await tunnelRegistry.redecide();
    return { ok: true, generation, problems: [] };
  };

  // One load at a time (SIGHUP, the operator endpoint, the file watch and other replicas' announcements
  // may ask together): a reload asked for during a load runs once after it, so the newest files win.
  let loading: Promise<ReloadReport> | undefined;
  let queued: Promise<ReloadReport> | undefined;
  const reload = (): Promise<ReloadReport> => {
    if (!loading) {
      loading = loadOnce().finally(() => {
        loading = undefined;
      });
      return loading;
    }
    const again = (): Promise<ReloadReport> => {
      queued = undefined;
      return reload();
    };
    queued ??= loading.then(again, again);
    return queued;
  };

  const simulatedAuthenticator = (arn: string, mfa: boolean): Authenticator | undefined => {
    const principal = snapshot?.principalFor?.(arn, mfa, now());
    return principal ? { authenticate: async () => ({ ok: true, principal }) } : undefined;
  };

  const shadow = (): ReturnType<typeof shadowLog.summary> => shadowLog.summary(snapshot?.shadow?.source);
  const opsApp = createOperationsApp({ metrics, readiness, pipeline, operatorEndpoints: config.operations.operatorEndpoints, hosts: config.operations.hosts, reload, simulatedAuthenticator, now, shadow, onError: (err) => logger.error({ err }, 'operations endpoint failed') });
  options.mountOperations?.(opsApp);
  // Node checks the header and request deadlines every `connectionsCheckingInterval` (30 s by
  // default): checked every second at most, a slow-loris caller is cut close to its deadline. Both
  // listeners keep to the same deadlines, and close a kept-alive connection idle as long.
  const timeouts = {
    headersTimeout: config.listen.headersTimeoutMs,
    requestTimeout: config.listen.requestTimeoutMs,
    keepAliveTimeout: config.listen.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, config.listen.headersTimeoutMs),
  };
  const ops = createServer(timeouts, getRequestListener(opsApp.fetch, { errorHandler: operationsRequestError }));
  // Probes, scrapers and operators need few connections: more cannot pile up descriptors the
  // gateway listener needs. Not a readiness reason, as the gateway's limit is: it serves no traffic.
  ops.maxConnections = config.operations.maxConnections;
  const refusals = createRefusals({ pipeline, metrics, logger, now, requestId: nextId });
  // The adapter's own refusals (no Host, a Host or absolute URL it cannot parse) would be a bare
  // 400: its error handler runs synchronously inside the listener call, so the flag says, right
  // after the call, that iamgate must answer (with its JSON body and an audit record) instead.
  let adapterRefused: unknown;
  const honoListener = getRequestListener(adapterFetch(app), {
    errorHandler: (err) => {
      adapterRefused = err;
    },
  });
  /**
   * A request Node parsed behind an answer that closes its connection (closeAfterAnswer) will never
   * be answered: it is counted, and nothing decides or records it.
   */
  const unserved = (socket: Duplex): boolean => {
    if (!closingSocket(socket)) return false;
    metrics.count.request(UNSERVED);
    return true;
  };
  // In-flight accounting for graceful shutdown: ordinary requests and upgraded connections.
  let active = 0;
  const tunnels = new Set<Duplex>();
  let drained: (() => void) | undefined;
  const release = (): void => {
    active -= 1;
    if (active === 0) drained?.();
  };
  /**
   * Counts a request in flight until its response closes. Only one whose answer can be sent: a
   * response node:http drops unsent behind an answer that closed the connection never closes.
   */
  const track = (res: ServerResponse): void => {
    active += 1;
    // A response closes once: `on` needs no once-wrapper made for every request.
    res.on('close', release);
  };
  /**
   * Runs `handle` once the request's answer can be sent. One pipelined behind a request not yet
   * answered waits: node:http holds its response until the one before has finished, and drops it
   * unsent when that answer closes the connection (a final answer to an Expect: 100-continue, a
   * refusal), so a request that could never be answered is never decided, recorded, forwarded or
   * counted in flight. One behind iamgate's own closing answer goes on at once, to be counted and
   * dropped as unserved.
   */
  const inTurn = (handle: (req: IncomingMessage, res: ServerResponse) => void) => (req: IncomingMessage, res: ServerResponse): void => {
    if (res.socket === null && !closingSocket(req.socket)) res.once('socket', () => handle(req, res));
    else handle(req, res);
  };
  const tooManyHeaders = (req: IncomingMessage): boolean => req.rawHeaders.length / 2 > config.listen.maxHeaders;
  const tooManyHeadersRefusal = { code: 'too_many_headers', detail: `more than ${config.listen.maxHeaders} header lines` } as const;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (unserved(req.socket)) return;
    track(res);
    if (tooManyHeaders(req)) {
      void refusals.request(req, res, tooManyHeadersRefusal);
      return;
    }
    // Targets the adapter would refuse itself (a bare 400): the pipeline refuses them instead,
    // with iamgate's JSON answer, a request id and an audit record.
    const target = req.url ?? '';
    if (plainDataPath(target, hostOf(req.rawHeaders)) || adapterRefuses(target)) {
      void handlers.handle(req, res);
      return;
    }
    adapterRefused = undefined;
    void honoListener(req, res);
    if (adapterRefused !== undefined) {
      const detail = adapterRefused instanceof Error ? adapterRefused.message : 'refused by the HTTP adapter';
      adapterRefused = undefined;
      void refusals.request(req, res, { code: 'malformed_request', detail });
    }
  };
  const server = createServer(
    // requireHostHeader off: node:http would answer an HTTP/1.1 request without Host with a bare 400
    // of its own (no request id, no record); the adapter refuses it instead, through the pipeline.
    { ...timeouts, maxHeaderSize: config.limits.maxHeaderBytes, requireHostHeader: false },
    inTurn(onRequest),
  );
  server.maxConnections = config.listen.maxConnections;
  const socketMetrics = createSocketMetrics(metrics.registry);
  const fdLimit = descriptorLimit();
  // A port that cannot be had fails listen() below, which the caller reports (serve: one line
  // naming the setting); logging it here as well would print Node's stack beside that line.
  const onServerError = (err: NodeJS.ErrnoException): void => {
    if (err.syscall !== 'listen' && err.syscall !== 'bind') logger.error({ err }, 'listener error');
  };
  const gatewaySockets = trackSockets(server, { name: 'gateway', metrics: socketMetrics, maxConnections: config.listen.maxConnections, now, onError: onServerError });
  const opsSockets = trackSockets(ops, { name: 'operations', metrics: socketMetrics, now, onError: onServerError });
  socketMetrics.limit.set({ listener: 'operations' }, config.operations.maxConnections);
  // One more than allowed, so a request over the limit is seen (Node drops the lines past it).
  server.maxHeadersCount = config.listen.maxHeaders + 1;

  /**
   * An upgrade or CONNECT pipelined behind an answer that closes the connection: Node has handed
   * over the socket, so it is ended here (after that answer, whatever the client keeps sending).
   */
  const dropUnserved = (socket: Duplex): boolean => {
    if (!unserved(socket)) return false;
    endRefused(socket);
    return true;
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => afterAnswerInFlight(socket, () => onUpgrade(req, socket, head)));
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (dropUnserved(socket)) return;
    if (tooManyHeaders(req)) {
      void refusals.upgrade(req, socket, tooManyHeadersRefusal, gatewaySockets);
      return;
    }
    // Only a WebSocket opening handshake is tunnelled: another protocol (h2c, ...) would leave the
    // request/response framing that was authorised. Refused before anything is decided or forwarded.
    // node:http reads HTTP/1.0 and 1.1 only: whatever is not 1.1 is refused as 1.0 is.
    const refusal = upgradeRefusal(req.method ?? '', req.rawHeaders, req.httpVersion === '1.1' ? 'http/1.1' : 'http/1.0');
    if (refusal) {
      void refusals.upgrade(req, socket, refusal, gatewaySockets);
      return;
    }
    active += 1;
    tunnels.add(socket);
    socket.once('close', () => {
      tunnels.delete(socket);
      release();
    });
    void handlers.upgrade(req, socket, head);
  };
  // CONNECT: without a listener node:http would drop the socket with no answer and no record.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    afterAnswerInFlight(socket, () => {
      if (!dropUnserved(socket)) void refusals.upgrade(req, socket, UNSUPPORTED_CONNECT, gatewaySockets);
    });
  });
  // `Expect: 100-continue`: the caller waits for "100 Continue" before sending its body. It is
  // sent only once the request is allowed (proxy-handler), so nobody uploads before being authorised.
  server.on('checkContinue', (req: IncomingMessage, res) => server.emit('request', req, res));
  // Any other expectation: node:http would answer a bare 417 itself, with no request id and no
  // record. Refused here instead, with iamgate's JSON answer and one audit record, before anything
  // is decided or forwarded.
  server.on(
    'checkExpectation',
    inTurn((req, res) => {
      if (unserved(req.socket)) return;
      track(res);
      void refusals.request(req, res, { code: 'expectation_failed', detail: `Expect: ${req.headers.expect ?? ''}`.slice(0, 200) });
    }),
  );
  // Malformed HTTP (bad request line, oversized headers, deadlines): 400/431/408, never 500.
  server.on('clientError', refusals.clientError(gatewaySockets, true));
  ops.on('clientError', refusals.clientError(opsSockets, false));
  // The operations port tunnels nothing.
  ops.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    opsSockets.refused('unsupported_upgrade');
    writeOperatorSocketError(socket, UNSUPPORTED_UPGRADE.code, UNSUPPORTED_UPGRADE.reason, UNSUPPORTED_UPGRADE.message);
  });

  const opsAt = await listen(ops, config.operations.port, config.operations.host);
  const listenGateway = async (): Promise<{ url: string; bound: string }> => {
    try {
      return await listen(server, config.listen.port, config.listen.host);
    } catch (err) {
      await closeServer(ops);
      await upstream.close(true);
      throw err;
    }
  };
  let gatewayAt = options.listenWhenReady ? undefined : await listenGateway();
  // Envoy's gRPC external authorization: the same pipeline, on its own port.
  let extAuthz: FrontDoor | undefined;
  if (options.extAuthz) {
    try {
      extAuthz = await options.extAuthz({ pipeline, metrics, logger, now, ready: () => readiness().ready, requestId: nextId, audit, sockets: socketMetrics });
    } catch (err) {
      await Promise.all([closeServer(server), closeServer(ops)]);
      await upstream.close(true);
      throw err;
    }
  }
  watchFiles([]);
  const initialLoad = reload();
  if (!gatewayAt) {
    // A failed first load is reported by `initialLoad` (serve exits): listening then changes nothing.
    if ((await initialLoad).ok) while (!readiness().ready && !closing) await new Promise((r) => setTimeout(r, READY_POLL_MS));
    gatewayAt = await listenGateway();
  }

  return {
    url: gatewayAt.url,
    opsUrl: opsAt.url,
    ...(extAuthz ? { extAuthzAddress: extAuthz.address } : {}),
    bound: { gateway: gatewayAt.bound, operations: opsAt.bound },
    metrics,
    initialLoad,
    readiness,
    reload,
    snapshot: () => snapshot,
    inFlight: () => active,
    tunnels: tunnelRegistry,
    async close(graceMs = config.shutdown.graceMs) {
      if (closing) return;
      closing = true;
      policyWatch?.close();
      // A tunnel never finishes by itself: closed now, each with its record, before the trail is flushed.
      tunnelRegistry.closeAll('shutdown');
      const stopped = closeServer(server);
      const checksStopped = extAuthz?.close(graceMs);
      if (active > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          timer.unref();
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const forced = active > 0;
      if (forced) logger.warn({ inFlight: active }, 'shutdown deadline reached; closing remaining connections');
      server.closeAllConnections();
      for (const socket of tunnels) socket.destroy();
      // Every other socket too: refused ones still lingering, upgraded ones node:http let go of.
      gatewaySockets.destroyAll();
      await stopped;
      await checksStopped;
      await upstream.close(forced);
      // A sink that cannot write (a full disk, a reader of stdout gone) fails the flush: the
      // operations listener closes all the same, and the caller hears of the failure after it.
      let unflushed: unknown;
      await audit.flush().catch((err: unknown) => {
        unflushed = err;
      });
      const opsStopped = closeServer(ops);
      opsSockets.destroyAll();
      await opsStopped;
      if (unflushed !== undefined) throw unflushed;
      logger.info('gateway stopped');
    },
  };
}
