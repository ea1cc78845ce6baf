// What replicas tell each other, and the decision cache they share: this instance's policy
// generation announced after every load (so the others reload), session revocations announced
// as they happen (so the others refresh their lists at once), and the decision cache behind the
// gateway's cache seam. Without Redis there is no one to tell: the cache is in process only.
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { createDecisionCache, gatewayDecisionCache, type GenerationListener, type RevocationListener } from '../cache/index.js';
import type { DecisionCache as CacheSeam, GatewayMetrics } from '../gateway/index.js';
import type { IamgateConfig } from './config.js';
import type { RedisRole } from './redis.js';

export interface Cluster {
  /** The decision cache as the gateway asks it. */
  readonly decisions: CacheSeam;
  /** This instance installed policies with this digest: adopted, and announced to the others. */
  loaded(digest: string): void;
  /** This instance revoked a subject's sessions issued before `before`: announced to the others. */
  revoked(subject: string, before: number): void;
  /** Another replica announced other policies. */
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
}

/** Opens the decision cache and the announcements between replicas. */
export function openCluster(config: IamgateConfig, deps: ClusterDeps): Cluster {
  const { metrics } = deps;
  const cache = createDecisionCache({
    now: deps.now,
    redis: deps.redis('cache'),
    ...config.cache,
    logger: deps.logger,
    metrics: { redisError: (op) => metrics.redisErrors.inc({ operation: `cache_${op}` }) },
  });
  return {
    decisions: gatewayDecisionCache(cache),
    loaded: (digest) => void cache.publishGeneration(digest),
    revoked: (subject, before) => void cache.publishRevocation(subject, before),
    onGeneration: (listener) => void cache.onGeneration(listener),
    onRevocation: (listener) => void cache.onRevocation(listener),
    close: () => cache.close(),
  };
}
