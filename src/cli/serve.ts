// `iamgate serve [--config FILE] [--demo]`: validate the configuration (every problem listed,
// nothing started when any), build authentication, start the gateway and its operations
// listener, and stop gracefully on SIGTERM/SIGINT (reload, and reopen the audit file, on SIGHUP).
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { authenticationWarnings, createAuthRuntime, createPeerAuthenticator, createRedisClient, readAuthConfig, type AuthConfig, type AuthRuntime } from '../auth/index.js';
import { createDecisionCache, gatewayDecisionCache, readCacheConfig, type DecisionCache } from '../cache/index.js';
import { formatProblems, loadConfig, type GatewayConfig } from '../config/index.js';
import { startDemoUpstream, type DemoUpstream } from '../demo/upstream.js';
import { readExtAuthzConfig } from '../extauthz/config.js';
import { peerIssuer } from '../extauthz/peer-config.js';
import { createGatewayMetrics, createPolicyLoader, startGateway, type AuditSink, type Gateway, type PolicyLoader } from '../gateway/index.js';
import type { PrincipalResolver } from '../identity/index.js';
import { readTracingConfig, type RequestTracer } from '../trace/index.js';
import { openServeAssertion, type ServeAssertion } from './serve-assertion.js';
import { iamgateVersion } from './version.js';
import { auditProblems, gatewayAudit, openGatewayAudit, type GatewayAudit } from './serve-audit.js';
import { EXIT } from './exit.js';
import { isClusterPrimary, isClusterWorker, leaveCluster, runPrimary, takeWorkers } from './serve-workers.js';
import type { CliIo } from './io.js';

const USAGE = `usage: iamgate serve [--config FILE] [--demo] [--workers N]

  --config FILE  the configuration file (default: $IAMGATE_CONFIG)
  --workers N    run N gateway processes sharing the ports (node:cluster; default 1)
  --demo         also start the demo orders service on the upstream's loopback port;
                 without --config or $IAMGATE_CONFIG, runs the example in policies/

Environment: IAMGATE_CONFIG, IAMGATE_PORT, IAMGATE_OPS_PORT, IAMGATE_UPSTREAM, REDIS_URL, IAMGATE_LOG_LEVEL,
IAMGATE_WORKERS.
Signals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads the policies and reopens the audit file.`;

/** The example configuration shipped in policies/ (found from src/cli or dist/cli alike). */
export const EXAMPLE_CONFIG = fileURLToPath(new URL('../../policies/iamgate.yaml', import.meta.url));

interface ServeArgs {
  readonly config: string | undefined;
  readonly demo: boolean;
}

function parseArgs(argv: readonly string[]): ServeArgs | string {
  let config: string | undefined;
  let demo = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--demo') demo = true;
    else if (arg === '--config') {
      config = argv[++i];
      if (config === undefined) return '--config needs a file';
    } else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else return `unknown argument "${arg}"`;
  }
  return { config, demo };
}

/** Loopback host and port of the upstream URL, where --demo starts the demo service. */
function demoAddress(config: GatewayConfig): { host: string; port: number } | undefined {
  const url = new URL(config.upstream.url);
  const host = url.hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') return undefined;
  return { host: host === '[::1]' ? '::1' : host, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
}

/** Everything serve started, stopped in reverse order (filled in as each part starts). */
export interface Running {
  gateway?: Gateway;
  runtime?: AuthRuntime;
  demo?: DemoUpstream;
  redis?: { quit(): Promise<unknown> };
  /** The decision cache: closed (its subscriber and retries stopped) before Redis is. */
  cache?: DecisionCache;
  /** The audit trail: closed after the gateway, once requests in flight have finished. */
  audit?: GatewayAudit;
  /** The identity assertion's key watch. */
  assertion?: ServeAssertion;
  /** The OpenTelemetry exporter: closed (its last spans sent) after the gateway. */
  tracer?: RequestTracer;
}

async function stopAll(running: Running, graceMs?: number): Promise<void> {
  await running.gateway?.close(graceMs);
  // ── Audit: the final signed digest, written after the last request's records. ──
  let auditFailure: unknown;
  await running.audit?.close().catch((err: unknown) => (auditFailure = err));
  running.runtime?.close();
  running.assertion?.close();
  await running.tracer?.close();
  await running.demo?.close();
  await running.cache?.close();
  await running.redis?.quit().catch(() => undefined);
  if (auditFailure !== undefined) throw auditFailure;
}

/** The OTLP exporter when `tracing` is configured, loaded only then (dynamic import). */
async function openTracer(config: GatewayConfig, logger: Logger): Promise<RequestTracer | undefined> {
  const read = readTracingConfig(config.sections['tracing'], config.file ? { file: config.file } : {});
  if (!read.config) {
    if (read.findings.length > 0) throw new Error(`the tracing configuration is invalid: ${formatProblems(read.findings).join('; ')}`);
    return undefined;
  }
  const { createOtlpTracer } = await import('../trace/otlp.js');
  logger.info({ endpoint: read.config.endpoint }, 'OpenTelemetry exporter on');
  return createOtlpTracer(read.config, { onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'spans not exported') });
}

/** A gateway assembled from a validated configuration, with what it needs to stop. */
export interface ConfiguredGateway {
  readonly gateway: Gateway;
  /** Closes the gateway (waiting up to `graceMs` for requests in flight), then authentication and Redis. */
  stop(graceMs?: number): Promise<void>;
}

/** What callers of startConfiguredGateway may replace. */
export interface ConfiguredOverrides {
  /** Records decisions here instead of the configured audit trail (benchmarks measuring the trail's cost). */
  readonly audit?: AuditSink;
}

/**
 * Assembles a gateway from a validated configuration: Redis when configured, the audit trail, the
 * authentication runtime (issuers, STS, MFA, revocation), the policy loader, and the STS and JWKS
 * endpoints. Resolves once both listeners are open; `gateway.initialLoad` says whether the policies loaded.
 */
export async function startConfiguredGateway(
  config: GatewayConfig,
  auth: AuthConfig,
  logger: Logger,
  running: Running = {},
  overrides: ConfiguredOverrides = {},
): Promise<ConfiguredGateway> {
  const metrics = createGatewayMetrics({ processMetrics: true, version: iamgateVersion() });
  const { url: redisUrl, sentinel } = config.redis;
  const redis =
    redisUrl !== undefined || sentinel !== undefined
      ? createRedisClient(redisUrl, {
          onError: () => metrics.redisErrors.inc({ operation: 'connection' }),
          // Sentinel: the sentinels name the current primary; the URL gives only credentials, database and TLS.
          ...(sentinel ? { connection: { sentinels: sentinel.nodes.map((n) => ({ ...n })), name: sentinel.masterName } } : {}),
        })
      : undefined;
  if (redis) running.redis = redis;
  // ── Audit trail (docs/audit.md): open before anything can decide; fed by the gateway, STS and policy loads. ──
  const audit = overrides.audit ? gatewayAudit(overrides.audit, logger) : await openGatewayAudit(config, auth, logger);
  running.audit = audit;
  audit.registerMetrics(metrics.registry);
  // ── end audit trail ──
  const assertion = await openServeAssertion(config, auth, logger);
  if (assertion) running.assertion = assertion;
  const tracer = await openTracer(config, logger);
  if (tracer) running.tracer = tracer;
  // ── Decision cache (docs/cache.md): in process, and over Redis when configured, with the policy
  // generation and revocation announcements that keep replicas in step. ──
  const decisionCache = createDecisionCache({
    now: Date.now,
    redis,
    ...readCacheConfig(config.sections['cache']).config!,
    logger,
    metrics: { redisError: (op) => metrics.redisErrors.inc({ operation: `cache_${op}` }) },
  });
  running.cache = decisionCache;
  let resolver: PrincipalResolver | undefined;
  const runtimeResolver = (): PrincipalResolver => {
    if (!resolver) throw new Error('no directory loaded');
    return resolver;
  };
  running.runtime = await createAuthRuntime({
    config: auth,
    baseDir: config.file ? dirname(config.file) : process.cwd(),
    resolver: runtimeResolver,
    ...(redis ? { redis } : {}),
    onStsEvent: (e) => {
      audit.onStsEvent(e);
      // The other replicas refresh their revocation lists at once instead of at their next poll.
      if (e.action === 'RevokeSessions' && e.outcome === 'allowed' && e.target !== undefined) void decisionCache.publishRevocation(e.target, Date.now());
    },
    // A revoked session's open WebSocket tunnels close (the gateway starts after the first read, when none are open).
    onRevoked: (subject, before) => running.gateway?.tunnels.revoked(subject, before),
    onError: (source, err) => {
      // With Redis configured, the background state (revocations, MFA) lives there: count its failures.
      if (redis && (source === 'revocation' || source === 'mfa')) metrics.redisErrors.inc({ operation: source });
      logger.warn({ source, err: err instanceof Error ? err.message : String(err) }, 'authentication background error');
    },
  });
  const runtime = running.runtime;
  // Fetch every issuer's keys now rather than on the first request (failures are logged by onError).
  void runtime.authenticator.warmUp().catch(() => undefined);
  // Read the revocation list as soon as Redis answers (at start and after every reconnection), not at the next poll.
  if (redis?.status === 'ready') void runtime.revocations.refresh();
  redis?.on('ready', () => void runtime.revocations.refresh());
  const load = audit.auditLoads(
    createPolicyLoader(config.policies, (_directory, next) => {
      resolver = next;
      return runtime.authenticator;
    }),
  );
  // Every successful load is this instance's policy generation, announced to the other replicas.
  const announcingLoad: PolicyLoader = async () => {
    const r = await load();
    if (r.ok) void decisionCache.publishGeneration(r.snapshot.digest);
    return r;
  };
  // Workload identity from the mesh peer (extAuthz.grpc.peerIdentity), checked against auth at start.
  const peer = readExtAuthzConfig(config.sections['extAuthz']).config?.grpc?.peerIdentity;
  const issuer = peer ? peerIssuer(peer, auth) : undefined;
  if (issuer && !issuer.ok) throw new TypeError(issuer.problem);
  const peerAuthenticator = peer && issuer?.ok ? createPeerAuthenticator({ issuer: issuer.issuer, trustDomain: peer.trustDomain, resolver: runtimeResolver }) : undefined;
  running.gateway = await startGateway({
    config,
    ...(peerAuthenticator ? { peerAuthenticator } : {}),
    load: announcingLoad,
    cache: gatewayDecisionCache(decisionCache),
    // Until the revocation list has been read once, every token would be refused (503 revocation_unavailable).
    notReady: () => (runtime.status().revocation.lastRefreshAt === undefined ? ['revocation state not read yet'] : []),
    warnings: authenticationWarnings(auth),
    listenWhenReady: isClusterWorker(),
    logger,
    metrics,
    audit: audit.sink,
    ...(assertion ? { assertion: assertion.issuer } : {}),
    ...(tracer ? { tracer } : {}),
    mountOperations: (app) => {
      audit.mountOperations(app);
      assertion?.mount(app);
    },
    mount: (app) => {
      assertion?.mount(app);
      if (runtime.stsApp) app.route('/.iamgate/sts', runtime.stsApp);
      if (runtime.jwksHandler) app.get('/.well-known/jwks.json', runtime.jwksHandler);
    },
  });
  const gateway = running.gateway;
  // Another replica loaded other policies: load ours again (a shared ConfigMap may have changed too).
  decisionCache.onGeneration(() => void gateway.reload());
  decisionCache.onRevocation(() => void runtime.revocations.refresh());
  return { gateway, stop: (graceMs) => stopAll(running, graceMs) };
}

/** Starts everything; resolves to the gateway, or to an exit code when the configuration or policies are wrong. */
async function start(args: ServeArgs, io: CliIo, running: Running): Promise<{ gateway: Gateway; logger: Logger; config: GatewayConfig } | number> {
  const file = args.config ?? process.env['IAMGATE_CONFIG'] ?? (args.demo ? EXAMPLE_CONFIG : undefined);
  if (file === undefined || file === '') {
    io.stderr(`iamgate serve: no configuration (pass --config FILE or set IAMGATE_CONFIG)\n\n${USAGE}`);
    return EXIT.usage;
  }
  const loaded = await loadConfig({ file, env: process.env });
  if (!loaded.ok) {
    io.stderr(`iamgate serve: the configuration has ${loaded.problems.length} problem(s); nothing was started:`);
    for (const line of formatProblems(loaded.problems)) io.stderr(`  ${line}`);
    return EXIT.failed;
  }
  const config = loaded.config;
  const auth = readAuthConfig(config.sections['auth'], { development: config.mode === 'development', ...(config.file ? { file: config.file } : {}) });
  if (!auth.config) {
    for (const line of formatProblems(auth.findings)) io.stderr(`  ${line}`);
    return EXIT.failed;
  }
  const peer = readExtAuthzConfig(config.sections['extAuthz']).config?.grpc?.peerIdentity;
  const issuer = peer ? peerIssuer(peer, auth.config) : undefined;
  if (issuer && !issuer.ok) {
    io.stderr(`iamgate serve: the configuration has 1 problem(s); nothing was started:\n  ${config.file ?? ''}: ${issuer.problem}`);
    return EXIT.failed;
  }
  const audit = auditProblems(config);
  if (audit.length > 0) {
    io.stderr(`iamgate serve: the configuration has ${audit.length} problem(s); nothing was started:`);
    for (const line of audit) io.stderr(`  ${line}`);
    return EXIT.failed;
  }
  const demoAt = args.demo ? demoAddress(config) : undefined;
  if (args.demo && !demoAt) {
    io.stderr(`iamgate serve: --demo needs a loopback upstream URL (got ${config.upstream.url})`);
    return EXIT.usage;
  }

  const logger = pino({ level: config.logging.level, base: { service: 'iamgate' } });
  if (demoAt) {
    running.demo = await startDemoUpstream(demoAt);
    logger.info({ url: running.demo.url }, 'demo orders service listening');
  }
  const { gateway } = await startConfiguredGateway(config, auth.config, logger, running);
  const first = await gateway.initialLoad;
  if (!first.ok) {
    io.stderr(`iamgate serve: the policies have ${first.problems.length} problem(s):`);
    for (const p of first.problems) io.stderr(`  ${p}`);
    return EXIT.failed;
  }
  logger.info({ version: iamgateVersion(), gateway: gateway.bound.gateway, operations: gateway.bound.operations, upstream: config.upstream.url, mode: config.mode }, 'iamgate listening');
  for (const warning of authenticationWarnings(auth.config)) logger.warn(warning);
  return { gateway, logger, config };
}

/** Runs the gateway until SIGTERM or SIGINT; resolves to the exit code. */
export async function runServe(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const split = takeWorkers(argv, process.env);
  if (typeof split === 'string') {
    io.stderr(`iamgate serve: ${split}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const args = parseArgs(split.rest);
  if (typeof args === 'string') {
    io.stderr(`iamgate serve: ${args}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (isClusterPrimary(split.workers)) return runPrimary(split.workers, io);
  const running: Running = {};
  let started: Awaited<ReturnType<typeof start>>;
  try {
    started = await start(args, io, running);
  } catch (err) {
    await stopAll(running, 0);
    throw err;
  }
  if (typeof started === 'number') {
    await stopAll(running, 0);
    return started;
  }
  const { gateway, logger } = started;
  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, inFlight: gateway.inFlight() }, 'stopping: no new connections, finishing requests in flight');
      void stopAll(running).then(
        () => {
          process.off('SIGHUP', reload);
          resolve(EXIT.ok);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(EXIT.failed);
        },
      );
    };
    const reload = (): void => {
      void gateway.reload();
      void running.audit?.reopen();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.on('SIGHUP', reload);
  });
  leaveCluster();
  return code;
}
