// The `cache` section of iamgate.yaml, checked with every problem reported at once.
import { ConfigReader, type Doc } from '../config/reader.js';
import type { Finding } from '../policy/index.js';
import { DEFAULT_BREAKER, DEFAULT_L1, DEFAULT_L2, type BreakerOptions, type L1Options, type L2Options } from './cache.js';

/** The cluster bus's pub/sub channel (src/cluster/), configured here with the cache it keeps in step. */
export const DEFAULT_CHANNEL = 'iamgate:generation';

export interface CacheConfig {
  readonly l1: L1Options | false;
  /** Used only when Redis is configured (`redis.url` or `redis.sentinel`). */
  readonly l2: Required<L2Options> | false;
  readonly breaker: BreakerOptions;
  readonly channel: string;
}

/** Reads the `cache` section (undefined = all defaults); `config` is set only when there is no problem. */
export function readCacheConfig(raw: unknown, options: { path?: string; file?: string } = {}): { config?: CacheConfig; findings: Finding[] } {
  const r = new ConfigReader(options.file);
  const path = options.path ?? 'cache';
  const root: Doc = r.section({ cache: raw }, 'cache', path, ['l1', 'l2', 'breaker', 'channel']);
  const s1 = r.section(root, 'l1', `${path}.l1`, ['enabled', 'maxEntries', 'ttlSeconds']);
  const l1: L1Options | false = r.bool(s1, 'enabled', `${path}.l1.enabled`, true)
    ? {
        maxEntries: r.int(s1, 'maxEntries', `${path}.l1.maxEntries`, DEFAULT_L1.maxEntries, 1, 10_000_000),
        ttlMs: r.int(s1, 'ttlSeconds', `${path}.l1.ttlSeconds`, DEFAULT_L1.ttlMs / 1000, 1, 86_400) * 1000,
      }
    : false;
  const s2 = r.section(root, 'l2', `${path}.l2`, ['enabled', 'ttlSeconds', 'prefix', 'timeoutMs', 'minEvalMicros']);
  const l2: Required<L2Options> | false = r.bool(s2, 'enabled', `${path}.l2.enabled`, true)
    ? {
        ttlMs: r.int(s2, 'ttlSeconds', `${path}.l2.ttlSeconds`, DEFAULT_L2.ttlMs / 1000, 1, 86_400) * 1000,
        prefix: r.string(s2, 'prefix', `${path}.l2.prefix`, DEFAULT_L2.prefix),
        timeoutMs: r.int(s2, 'timeoutMs', `${path}.l2.timeoutMs`, DEFAULT_L2.timeoutMs, 1, 10_000),
        minEvalMicros: r.int(s2, 'minEvalMicros', `${path}.l2.minEvalMicros`, DEFAULT_L2.minEvalMicros, 0, 10_000_000),
      }
    : false;
  const sb = r.section(root, 'breaker', `${path}.breaker`, ['failures', 'cooldownMs']);
  const breaker: BreakerOptions = {
    failures: r.int(sb, 'failures', `${path}.breaker.failures`, DEFAULT_BREAKER.failures, 1, 1000),
    cooldownMs: r.int(sb, 'cooldownMs', `${path}.breaker.cooldownMs`, DEFAULT_BREAKER.cooldownMs, 10, 600_000),
  };
  const channel = r.string(root, 'channel', `${path}.channel`, DEFAULT_CHANNEL);
  const findings = r.problems;
  return findings.length > 0 ? { findings } : { config: { l1, l2, breaker, channel }, findings };
}
