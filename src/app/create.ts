// The composition root: every part of a running iamgate, built from one validated configuration
// value, in dependency order, and stopped in reverse. `serve`, the benchmarks and the test helpers
// all assemble a gateway here and nowhere else.
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { authenticationWarnings, createAuthRuntime, createPeerAuthenticator, createRelayedStateStore, registerTokenCacheMetrics, type AuthRuntime, type FetchLike } from '../auth/index.js';
import { createIdSource } from '../audit/index.js';
import type { PrincipalResolver } from '../identity/index.js';
import { compileTrustedProxies, createGatewayMetrics, incomingOf, scanHeaders, markClosingAnswer, requestFacts, requestKeys, startGateway, type AuditSink, type Gateway, type GatewayMetrics, type PolicyLoader, type Readiness, type ReloadReport } from '../gateway/index.js';
import { IDENTITY_HEADERS } from '../proxy/index.js';
import { ASSERTION_JWKS_PATH } from '../assertion/index.js';
import { openServeAssertion } from './assertion.js';
import { gatewayAudit, openGatewayAudit } from './audit.js';
import { extAuthzFrontDoor } from './ext-authz.js';
import { openCluster } from './cluster.js';
import type { IamgateConfig } from './config.js';
import { evictionWarning, redisConfigured, redisFactory, watchRedisReach, type RedisFactory } from './redis.js';
import { keyFileWarnings } from './key-files.js';
import { recordPublicKeysRead } from './public-keys.js';
import { createSnapshotLoader, tokenAuthenticatorFor, type SnapshotAuthenticator } from './snapshot.js';
import { openTracer } from './tracing.js';
import { iamgateVersion } from './version.js';
import { createTextRedactor } from './log-redaction.js';
import { configuredSecrets, createLogger } from './logger.js';
import { joinWorkerGenerations } from './worker-generations.js';

/** What a caller may put in place of what the configuration would build. */
export interface IamgateDeps {
  /** The clock of every part (token checks, revocations, cache entries, audit times). Default Date.now. */
  readonly now?: () => number;
  /** Fetches issuers' JWKS. Default: the global fetch. */
  readonly fetch?: FetchLike;
  /** Default: createLogger at `logging.level` (pino, lines bounded to one atomic pipe write). */
  readonly logger?: Logger;
  /** Opens iamgate's Redis connections. Default: from `redis` (none when it is not configured). */
  readonly redis?: RedisFactory;
  /** Records every audit event here instead of the configured trail. */
  readonly audit?: AuditSink;
  /** Each snapshot's authenticator, in place of the configured issuers' token verifier. */
  readonly authenticator?: SnapshotAuthenticator;
  /** Wraps the policy loader (to hold or fail loads: readiness and reload faults). */
  readonly loader?: (load: PolicyLoader) => PolicyLoader;
  /** Opens the gateway listener only once ready (a `serve --workers` worker sharing it). */
  readonly listenWhenReady?: boolean;
  /**
   * A `serve --workers` worker's channel to the primary. Without Redis, the primary holds the
   * security state (TOTP replay marks, lockouts, revocations) of every worker and relays policy
   * generations and revocations between them, so the workers act as one gateway.
   */
  readonly primary?: PrimaryChannel;
}

/** Messages to and from the primary process (a worker's `process.send` and `message` events). */
export interface PrimaryChannel {
  send(message: object): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** Where the STS's session tokens' public keys are served on the gateway port. */
const STS_JWKS_PATH = '/.well-known/jwks.json';

/** How long a worker waits for the primary to answer a state call before failing closed, ms. */
const PRIMARY_STATE_TIMEOUT_MS = 1000;

/** A running iamgate. */
export interface Iamgate {
  /** The gateway (listeners, pipeline, proxy, policy snapshots). */
  readonly gateway: Gateway;
  /** The operations listener: readiness and metrics. */
  readonly operations: { readonly url: string; readonly bound: string; readonly metrics: GatewayMetrics; readiness(): Readiness };
  /** The authentication runtime (issuers, revocations, STS). */
  readonly auth: AuthRuntime;
  /** What SIGHUP does: loads the policies again (installed whole, or not at all) and reopens the audit file. */
  reload(): Promise<ReloadReport>;
  /** Stops accepting, lets requests finish for up to `graceMs`, then closes every part in reverse order. */
  stop(graceMs?: number): Promise<void>;
}

/** Closes what was opened, last first; the first failure is thrown once everything is closed. */
function closers(): { add(close: () => unknown): void; run(): Promise<void> } {
  const list: (() => unknown)[] = [];
  return {
    add: (close) => void list.push(close),
    async run() {
      let failure: { err: unknown } | undefined;
      for (const close of list.splice(0).reverse()) {
        try {
          await close();
        } catch (err) {
          failure ??= { err };
        }
      }
      if (failure) throw failure.err;
    },
  };
}

/**
 * Builds and starts iamgate: Redis connections, the audit trail, the identity assertion, tracing,
 * the cluster bus, the decision cache, authentication, and the gateway with its policy snapshots.
 * Resolves once the listeners are open; `gateway.initialLoad` says whether the policies loaded.
 * On a failure while starting, whatever was started is closed again before the error is thrown.
 */
export async function createIamgate(config: IamgateConfig, deps: IamgateDeps = {}): Promise<Iamgate> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger(config.logging.level, undefined, configuredSecrets(config));
  const opened = closers();
  try {
    const metrics = createGatewayMetrics({ processMetrics: true, version: iamgateVersion() });
    const connect = deps.redis ?? (redisConfigured(config.redis) ? redisFactory(config.redis) : undefined);
    const openRedis = (role: Parameters<RedisFactory>[0]): ReturnType<RedisFactory> | undefined => {
      if (!connect) return undefined;
      const client = connect(role, () => metrics.redisErrors.inc({ operation: 'connection' }));
      opened.add(() => client.quit().catch(() => client.disconnect()));
      return client;
    };
    const stateRedis = openRedis('state');
    if (stateRedis) watchRedisReach(stateRedis, config.redis, logger);

    // The audit trail (docs/audit.md) opens before anything can decide; it closes after the gateway.
    const audit = deps.audit ? gatewayAudit(deps.audit, logger) : await openGatewayAudit(config, logger);
    opened.add(() => audit.close());
    audit.registerMetrics(metrics.registry);
    const assertion = await openServeAssertion(config, logger);
    if (assertion) opened.add(() => assertion.close());
    const tracer = await openTracer(config, logger);
    if (tracer) opened.add(() => tracer.close());

    // The policies serving now: what the STS and the mesh peer resolve callers against.
    let gateway: Gateway | undefined;
    const currentResolver = (): PrincipalResolver => {
      const resolver = gateway?.snapshot()?.resolver;
      if (!resolver) throw new Error('no directory loaded');
      return resolver;
    };
    const primary = stateRedis ? undefined : deps.primary;
    // A worker of `serve --workers N` (with Redis or without) keeps to the policy set the others serve.
    const workers = deps.primary
      ? joinWorkerGenerations(deps.primary, {
          registry: metrics.registry,
          reload: () => void gateway?.reload(),
          onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'policy load not reported to the primary'),
        })
      : undefined;
    const cluster = openCluster(config, { now, logger, metrics, redis: openRedis, ...(primary ? { ipc: primary } : {}) });
    opened.add(() => cluster.close());
    const trustedProxies = compileTrustedProxies(config.trustedProxies);
    // One source names every answer of this gateway, the STS's and the data path's alike: one
    // format, and no id given twice.
    const requestId = createIdSource();
    const auth = await createAuthRuntime({
      config: config.auth,
      baseDir: config.file ? dirname(config.file) : process.cwd(),
      resolver: currentResolver,
      loaded: () => gateway?.snapshot()?.resolver !== undefined,
      now,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(stateRedis ? { redis: stateRedis } : {}),
      ...(primary ? { state: createRelayedStateStore(primary, PRIMARY_STATE_TIMEOUT_MS) } : {}),
      // An STS call is decided on its own address, transport, time and agent, as a proxied request
      // is (a call made in-process, without a socket, has none of these keys).
      stsRequestKeys: (c) => {
        const incoming = incomingOf(c);
        return incoming ? requestKeys(requestFacts(incoming, '', now()), trustedProxies) : {};
      },
      // Counted on the raw lines, as the data path counts them: an STS call with two is refused alike.
      stsAuthorizationLines: (c) => {
        const incoming = incomingOf(c);
        return incoming ? scanHeaders(incoming.rawHeaders).authorizationCount : 1;
      },
      requestIdHeader: IDENTITY_HEADERS.requestId,
      requestId,
      onStsEvent: (e) => {
        audit.onStsEvent(e);
        // The operator reads here, as in the record, why a call was refused: the caller's answer may
        // not say (access_denied stands for several reasons, so that roles cannot be enumerated).
        if (e.outcome === 'denied') logger.info({ requestId: e.requestId, action: e.action, code: e.code, ...(e.detail !== undefined ? { detail: e.detail } : {}) }, 'sts call refused');
        if (e.action === 'RevokeSessions' && e.outcome === 'allowed' && e.target !== undefined) cluster.revoked(e.target, now());
      },
      // A revoked session's open WebSocket tunnels close (none are open before the gateway starts).
      onRevoked: (subject, before) => gateway?.tunnels.revoked(subject, before),
      onError: (source, err) => {
        // With Redis configured, the background state (revocations, MFA) lives there: count its failures.
        if (stateRedis && (source === 'revocation' || source === 'mfa')) {
          metrics.redisErrors.inc({ operation: source });
          // Without a connection every refresh fails alike: watchRedisReach says so once instead.
          if (stateRedis.status !== 'ready') return;
        }
        logger.warn({ source, err: err instanceof Error ? err.message : String(err) }, 'authentication background error');
      },
    });
    opened.add(() => auth.close());
    registerTokenCacheMetrics(metrics.registry, auth.authenticator);
    // Now that every key file is read (or generated 0600), those any user of the machine may read.
    const keyWarnings = keyFileWarnings(config);
    for (const warning of keyWarnings) logger.warn({ warning }, 'private key file readable by every user');
    // Every issuer's keys now rather than on the first request (failures are logged by onError).
    void auth.authenticator.warmUp().catch(() => undefined);
    // The revocation list is read as soon as Redis answers (at start and after every reconnection).
    if (stateRedis?.status === 'ready') void auth.revocations.refresh();
    stateRedis?.on('ready', () => void auth.revocations.refresh());
    // Eviction would forget security state: say so on every connection (a failover may change it).
    const warnEviction = (): void => {
      if (stateRedis) void evictionWarning(stateRedis).then((warning) => warning && logger.warn({ warning }, 'redis may evict security state'));
    };
    if (stateRedis?.status === 'ready') warnEviction();
    stateRedis?.on('ready', warnEviction);

    const snapshotAuthenticator = deps.authenticator ?? tokenAuthenticatorFor(auth.authenticator);
    const load = createSnapshotLoader(config.policies, snapshotAuthenticator);
    const peer = config.peerIssuer && config.extAuthz?.peerIdentity;
    const extAuthz = extAuthzFrontDoor(config, assertion?.issuer);
    const started = await startGateway({
      config,
      load: deps.loader ? deps.loader(load) : load,
      cache: cluster.decisions,
      onLoad: (notice) => {
        audit.recordLoad(notice);
        if (notice.ok) cluster.loaded(notice.snapshot.digest);
        workers?.loaded(notice);
      },
      ...(extAuthz ? { extAuthz } : {}),
      ...(peer && config.peerIssuer ? { peerAuthenticator: createPeerAuthenticator({ issuer: config.peerIssuer, trustDomain: peer.trustDomain, resolver: currentResolver }) } : {}),
      sessionRevocation: (principal) => auth.revocations.checkPrincipal(principal),
      // Until the revocation list has been read once, every token would be refused (503 revocation_unavailable).
      notReady: () => [
        ...(auth.status().revocation.lastRefreshAt === undefined ? ['revocation state not read yet'] : []),
        ...(workers?.notReady() ?? []),
        ...audit.notReady(),
      ],
      // Issuer warnings say nothing about an authenticator put in their place.
      warnings: [...(deps.authenticator ? [] : authenticationWarnings(config.auth)), ...keyWarnings],
      // /readyz and the reload's answer show the problems as the log and serve's standard error do.
      redactProblem: createTextRedactor(configuredSecrets(config)),
      ...(deps.listenWhenReady ? { listenWhenReady: true } : {}),
      logger,
      metrics,
      now,
      requestId,
      audit: audit.sink,
      outcomes: config.audit.outcomes,
      ...(assertion ? { assertion: assertion.issuer } : {}),
      ...(tracer ? { tracer } : {}),
      mountOperations: (app) => {
        audit.mountOperations(app);
        assertion?.mount(app);
      },
      mount: (app) => {
        const recorded = recordPublicKeysRead({ audit: audit.sink, requestId, trustedProxies });
        if (assertion) app.use(ASSERTION_JWKS_PATH, recorded);
        assertion?.mount(app);
        if (auth.stsApp) {
          // The STS closes the connection after refusing a call whose body it did not read.
          app.use('/.iamgate/sts/*', markClosingAnswer);
          app.route('/.iamgate/sts', auth.stsApp);
        }
        if (auth.jwksHandler) {
          app.use(STS_JWKS_PATH, recorded);
          app.get(STS_JWKS_PATH, auth.jwksHandler);
        }
      },
    });
    gateway = started;
    // Another replica loaded other policies: load ours again (a shared ConfigMap may have changed too).
    cluster.onGeneration(() => void started.reload());
    cluster.onRevocation(() => void auth.revocations.refresh());
    let stopping: Promise<void> | undefined;
    return {
      gateway: started,
      operations: { url: started.opsUrl, bound: started.bound.operations, metrics, readiness: () => started.readiness() },
      auth,
      async reload() {
        const [report] = await Promise.all([started.reload(), audit.reopen()]);
        return report;
      },
      stop(graceMs) {
        stopping ??= (async () => {
          // The gateway closes first (requests in flight finish), then everything it used: that
          // too when the gateway's close failed, or a part left open would keep the process alive.
          try {
            await started.close(graceMs);
          } finally {
            await opened.run();
          }
        })();
        return stopping;
      },
    };
  } catch (err) {
    await opened.run().catch(() => undefined);
    throw err;
  }
}
