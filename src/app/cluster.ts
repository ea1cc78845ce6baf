// The decision cache and the cluster bus, joined: this instance's policy generation adopted by the
// cache (entries of another generation are never served) and announced on the bus after every
// load; another replica's generation empties the in-process level and reloads the policies; a
// revocation made here is announced, one heard refreshes the revocation list. Without Redis the
// cache is in process only, and the bus is silent unless this is a worker of `serve --workers`:
// the primary then relays announcements between the workers.
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { createDecisionCache } from '../cache/index.js';
import { createClusterBus, type BusChannel, type GenerationListener, type RevocationListener } from '../cluster/index.js';
import type { DecisionCache as CacheSeam, GatewayMetrics } from '../gateway/index.js';
import type { IamgateConfig } from './config.js';
import { gatewayDecisionCache } from './decisions.js';
import type { RedisRole } from './redis.js';
import { decisionCacheRelease } from './version.js';

export interface Cluster {
  /** The decision cache as the gateway asks it. */
  readonly decisions: CacheSeam;
  /** This instance installed policies with this digest: adopted by the cache, announced to the others. */
  loaded(digest: string): void;
  /** This instance revoked a subject's sessions issued before `before`: announced to the others. */
  revoked(subject: string, before: number): void;
  /** Another replica announced other policies (the cache's in-process level is already emptied). */
  onGeneration(listener: GenerationListener): void;
  /** Another replica revoked sessions. */
  onRevocation(listener: RevocationListener): void;
  close(): Promise<void>;
}

export interface ClusterDeps {
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Opens a Redis connection of the given role; undefined without Redis. */
  readonly redis: (role: RedisRole) => Redis | undefined;
  /** A `serve --workers` worker's channel to the primary: the bus without Redis. */
  readonly ipc?: BusChannel | undefined;
}

/** Opens the decision cache and the cluster bus, each on its own connection, and joins them. */
export function openCluster(config: IamgateConfig, deps: ClusterDeps): Cluster {
  const { metrics, logger } = deps;
  const redisError = (op: string): void => metrics.redisErrors.inc({ operation: `cache_${op}` });
  const { channel, ...cacheOptions } = config.cache;
  const cache = createDecisionCache({ now: deps.now, redis: deps.redis('cache'), ...cacheOptions, release: decisionCacheRelease(), logger, metrics: { redisError } });
  const redis = deps.redis('bus');
  const bus = createClusterBus({ redis, ...(redis ? {} : { ipc: deps.ipc }), channel, now: deps.now, onError: redisError });
  bus.onGeneration((a) => {
    // This instance's entries are about to be of an older generation; the reload changes it anyway.
    cache.clear();
    // `digest`, as 'policies loaded' names it: a log line with a `hash` reads as an audit record to
    // `audit verify` of a trail on standard output.
    logger.info({ digest: a.hash, origin: a.origin }, 'policy generation announced by another replica');
  });
  return {
    decisions: gatewayDecisionCache(cache),
    loaded(digest) {
      cache.setGeneration(digest);
      void bus.publishGeneration(digest);
    },
    revoked: (subject, before) => void bus.publishRevocation(subject, before),
    onGeneration: (listener) => void bus.onGeneration(listener),
    onRevocation: (listener) => void bus.onRevocation(listener),
    async close() {
      await bus.close();
      await cache.close();
    },
  };
}
