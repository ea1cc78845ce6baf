// The audit trail as iamgate wires it: opened from the `audit` section before anything can
// decide, fed by the gateway (one record per decision), the STS endpoints and policy loads, its
// counters on the gateway's metrics registry, its public key on the operations port, and closed
// (final signed digest) once the requests in flight have finished.
import { dirname, resolve } from 'node:path';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { openConfiguredAudit, policyLoadEvent, registerAuditMetrics, type AuditLogStats, type PublicJwk } from '../audit/index.js';
import type { AuditEventInput } from '../audit/index.js';
import { stsAuditEvent, type StsEvent } from '../auth/index.js';
import { GATEWAY_ERRORS, operatorErrorBody } from '../errors/index.js';
import type { AuditSink, LoadNotice } from '../gateway/index.js';
import type { Registry } from 'prom-client';
import type { IamgateConfig } from './config.js';
import { createSentinelClient } from './redis.js';

/** Path of the public key on the operations port. */
export const PUBLIC_KEY_PATH = '/audit/public-key';
/** Path of the chain head on the operations port (`audit verify --head`). */
export const CHAIN_HEAD_PATH = '/audit/head';

export interface GatewayAudit {
  /** What the gateway records into. */
  readonly sink: AuditSink;
  /** STS outcomes (`createAuthRuntime`'s `onStsEvent`): recorded without holding the STS answer. */
  onStsEvent(event: StsEvent): void;
  /**
   * Records a policy load (the gateway's `onLoad`). Called in the turn the snapshot is installed,
   * so the record precedes, in the chain, every decision taken under it; never awaited there.
   */
  recordLoad(notice: LoadNotice): void;
  /**
   * Serves the digests' public key (JWK) at `/audit/public-key` and the chain head at `/audit/head`
   * on the operations app.
   */
  mountOperations(app: Hono): void;
  /** Exports the trail's counters on the gateway's registry. */
  registerMetrics(registry: Registry): void;
  /**
   * Why the gateway cannot answer now: each refusing sink (`whenFull: refuse`) whose last write
   * failed (a full disk, a file it can no longer write), for /readyz. Empty otherwise.
   */
  notReady(): readonly string[];
  /** Writes the final signed digest and closes the sinks (after the gateway has closed). */
  close(): Promise<void>;
  /** Reopens the trail's file at its path (SIGHUP, after logrotate renamed it); failures are logged. */
  reopen(): Promise<void>;
}

/** Wraps any audit sink in what serve needs around it; `stats`, `publicJwk` and `close` when it is the configured trail. */
export function gatewayAudit(
  sink: AuditSink,
  logger: Logger,
  trail: {
    stats?: () => AuditLogStats;
    publicJwk?: PublicJwk;
    close?: () => Promise<void>;
    reopen?: () => Promise<void>;
    /** The sinks configured to refuse requests rather than drop their records. */
    refusing?: ReadonlySet<string>;
  } = {},
): GatewayAudit {
  /** Records an event whose refusal cannot refuse anything any more: logged. */
  const keep = async (event: AuditEventInput): Promise<void> => {
    try {
      await sink.record(event);
    } catch (err) {
      logger.error({ kind: event.kind, reason: event.reason, err: err instanceof Error ? err.message : String(err) }, 'audit record not kept');
    }
  };
  return {
    sink,
    onStsEvent: (event) => void keep(stsAuditEvent(event)),
    recordLoad: (notice) => void keep(policyLoadEvent(notice.ok, notice.ok ? notice.snapshot.generation : notice.generation)),
    mountOperations(app) {
      const jwk = trail.publicJwk;
      app.get(PUBLIC_KEY_PATH, (c) => (jwk ? c.json(jwk, 200, { 'cache-control': 'no-cache' }) : c.json(operatorErrorBody('reserved_path', 'the audit trail is not signed (audit.sign: false)'), GATEWAY_ERRORS.reserved_path.status)));
      const stats = trail.stats;
      app.get(CHAIN_HEAD_PATH, (c) => (stats ? c.json(stats().head, 200, { 'cache-control': 'no-store' }) : c.json(operatorErrorBody('reserved_path', 'no audit chain is written here'), GATEWAY_ERRORS.reserved_path.status)));
    },
    registerMetrics(registry) {
      if (trail.stats) registerAuditMetrics(registry, trail.stats);
    },
    notReady() {
      if (!trail.stats || !trail.refusing) return [];
      const failing = Object.entries(trail.stats().sinks).filter(([name, s]) => !s.healthy && trail.refusing?.has(name));
      return failing.map(([name]) => `audit sink ${name} cannot write: requests are refused (audit_unavailable) until it writes again`);
    },
    close: trail.close ?? (() => sink.flush()),
    reopen: async () => {
      try {
        await trail.reopen?.();
      } catch (err) {
        logger.error({ err: err instanceof Error ? err.message : String(err) }, 'audit file not reopened');
      }
    },
  };
}

/** How often one sink's same error is logged again while it keeps failing. */
const SINK_ERROR_REPEAT_MS = 60_000;
/** Errors remembered at once; past it the memory starts again (every error is then new once more). */
const SINK_ERRORS_KEPT = 100;

/**
 * Logs a sink's errors: each message the first time, then again at most once a minute with how
 * many times it was not repeated. A redis sink without its Redis fails every reconnection (several
 * a second) with the same message; a changed message (a new cause, another count of unwritten
 * records) is logged at once.
 */
export function sinkErrorReporter(logger: Pick<Logger, 'warn'>, now: () => number): (sink: string, err: unknown) => void {
  const said = new Map<string, { at: number; unsaid: number }>();
  return (sink, err) => {
    const message = err instanceof Error ? err.message : String(err);
    const key = `${sink}\n${message}`;
    const at = now();
    const before = said.get(key);
    if (before && at - before.at < SINK_ERROR_REPEAT_MS) {
      before.unsaid += 1;
      return;
    }
    if (said.size >= SINK_ERRORS_KEPT) said.clear();
    said.set(key, { at, unsaid: 0 });
    logger.warn({ sink, err: message, ...(before && before.unsaid > 0 ? { notRepeated: before.unsaid } : {}) }, 'audit sink error');
  };
}

/**
 * Opens the trail the configuration describes. Throws (before anything listens) when the section
 * is wrong or a key or file cannot be read or written; the message names the key at fault.
 */
export async function openGatewayAudit(config: IamgateConfig, logger: Logger): Promise<GatewayAudit> {
  const { audit, auth } = config;
  const baseDir = config.file ? dirname(config.file) : process.cwd();
  // Behind Sentinel the sink needs its own client that asks the sentinels for the primary.
  const sentinelClient = audit.sinks.includes('redis')
    ? createSentinelClient(config.redis, (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'audit redis error'))
    : undefined;
  const opened = await openConfiguredAudit(audit, {
    ...(sentinelClient ? { redisClient: sentinelClient } : {}),
    baseDir,
    stateDir: resolve(baseDir, auth.stateDir),
    protectedDirs: [...new Set([dirname(config.policies.directory), dirname(config.policies.routes)])],
    redisUrl: config.redis.url,
    onSinkError: sinkErrorReporter(logger, Date.now),
  });
  const { log } = opened;
  logger.info(
    { auditChain: log.instanceId, sinks: audit.sinks, durability: audit.durability, kid: log.publicKey?.kid, ...(opened.key ? { keyFile: opened.key.file, keyGenerated: opened.key.generated } : {}) },
    log.publicKey ? 'audit trail open' : 'audit trail open (digests not signed)',
  );
  const refusing = new Set(audit.sinks.filter((sink) => (sink === 'redis' ? audit.redis.whenFull : audit.whenFull) === 'refuse'));
  // The log is the gateway's sink as it is: `record`, `flush`, and `recordWhenAccepting` for the
  // outcome that follows a decision record whose write failed.
  return gatewayAudit(log, logger, { stats: () => log.stats(), reopen: opened.reopen, refusing, ...(opened.publicJwk ? { publicJwk: opened.publicJwk } : {}), close: async () => {
    await log.close();
    if (sentinelClient) await sentinelClient.quit().catch(() => sentinelClient.disconnect());
  } });
}
