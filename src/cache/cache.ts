// The decision cache: an in-process LRU (L1) in front of Redis shared by every replica (L2), keyed
// by exact decision keys (./key.ts), and the policy generation its keys are made under. Redis is
// optional and never on the critical path: an L2 failure is a miss, never an error and never an
// allow. Telling other replicas about generations is the cluster bus's job (src/cluster/).
import type { Redis } from 'ioredis';
import type { PolicySet } from '../policy/index.js';
import { createBreaker, type BreakerState } from './breaker.js';
import { decodeEntry, encodeEntry, type CacheEntry } from './codec.js';
import { createGenerationHolder, type PolicyGeneration } from './generation.js';
import { createKeyBuilder, portableText, sharedKey, type DecisionKey, type DecisionKeyInput } from './key.js';
import { createLru } from './lru.js';
import { createSharedLevel, type SharedLevel } from './redis.js';

export type CacheLevel = 'l1' | 'l2';

/** A cached decision and the level that answered. */
export interface CachedDecision extends CacheEntry {
  readonly level: CacheLevel;
}

export interface L1Options {
  readonly maxEntries: number;
  readonly ttlMs: number;
}

export interface L2Options {
  readonly ttlMs: number;
  /** Prefix of every decision key in Redis. */
  readonly prefix: string;
  /** Deadline of each L2 command, ms, whatever the client's own timeout. */
  readonly timeoutMs?: number;
  /**
   * L2 is asked, and written, only for policy sets whose measured fresh evaluation takes at least
   * this many microseconds (reported with `set`): below it a Redis round trip costs more than it
   * saves. 0 uses L2 for every lookup.
   */
  readonly minEvalMicros?: number;
}

export interface BreakerOptions {
  /** Consecutive Redis failures that stop L2 for a cool-down. */
  readonly failures: number;
  readonly cooldownMs: number;
}

/** The subset of a pino logger the cache writes to. */
export interface CacheLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Counters the cache reports to; each is optional. */
export interface CacheMetrics {
  /** A Redis command failed or timed out (`get`, `set`, `publish`, `subscriber`, `catch-up`, `connection`). */
  redisError?(operation: string): void;
  /** The L2 circuit breaker changed state. */
  breaker?(state: BreakerState): void;
}

export interface DecisionCacheDeps {
  /** The in-process level; `false` turns it off. */
  readonly l1?: L1Options | false;
  /** A fail-fast client (see `createCacheRedis`); without one, only L1 runs. */
  readonly redis?: Redis | undefined;
  /** The shared level; `false` turns it off. */
  readonly l2?: L2Options | false;
  readonly breaker?: BreakerOptions;
  readonly now: () => number;
  /**
   * The release of the evaluator whose decisions are cached (iamgate's version): replicas of
   * different releases may decide the same files differently, so they never share entries.
   */
  readonly release?: string;
  readonly logger?: CacheLogger;
  readonly metrics?: CacheMetrics;
}

export interface StoreOptions {
  /** Caps the entry's time to live at both levels, ms. */
  readonly ttlMs?: number;
  /** How long the fresh evaluation took, µs: teaches the cache whether L2 pays off for this key's policy set. */
  readonly evalMicros?: number;
}

export interface CacheStats {
  readonly l1Entries: number;
  readonly hitsL1: number;
  readonly hitsL2: number;
  readonly misses: number;
  readonly l2Errors: number;
  readonly breaker: BreakerState | 'off';
  readonly generation?: PolicyGeneration;
}

export interface DecisionCache {
  /** The exact key of a decision (see ./key.ts), or undefined when it must not be cached (the set reads a time-varying key). */
  keyOf(input: DecisionKeyInput): DecisionKey | undefined;
  /** `policySetKeys(set)`, computed once per policy set. */
  keysOf(set: PolicySet): ReadonlySet<string>;
  /** The L1 entry for a key, synchronously (an L1 hit costs no promise). */
  getL1(key: DecisionKey): CachedDecision | undefined;
  /** L1, then L2 when it applies; a promise only when L2 is asked. Never throws or rejects. */
  lookup(key: DecisionKey): CachedDecision | undefined | Promise<CachedDecision | undefined>;
  /** As `lookup`, always as a promise. */
  get(key: DecisionKey): Promise<CachedDecision | undefined>;
  /** Keeps a fresh decision at every level that applies; L2 writes happen in the background. Never throws. */
  set(key: DecisionKey, entry: CacheEntry, options?: StoreOptions): void;
  /** Whether a lookup for this key would ask L2. */
  usesL2(key: DecisionKey): boolean;
  /** The loaded policies' generation, or undefined before the first. */
  generation(): PolicyGeneration | undefined;
  /** Adopts this instance's newly loaded policies: L1 is emptied when the hash changes. */
  setGeneration(hash: string): PolicyGeneration;
  /** Empties L1 (another replica loaded other policies: this one's entries are about to be of an older generation). */
  clear(): void;
  stats(): CacheStats;
  /** Stops counting the client's errors; the Redis client itself belongs to the caller. */
  close(): Promise<void>;
}

export const DEFAULT_L1: L1Options = { maxEntries: 10_000, ttlMs: 60_000 };
export const DEFAULT_L2: Required<L2Options> = { ttlMs: 300_000, prefix: 'iamgate:decision:', timeoutMs: 50, minEvalMicros: 200 };
export const DEFAULT_BREAKER: BreakerOptions = { failures: 3, cooldownMs: 1000 };

function checkPositive(name: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new TypeError(`${name} must be a positive number`);
}

/** Creates the decision cache; options are checked here, once. */
export function createDecisionCache(deps: DecisionCacheDeps): DecisionCache {
  const { now, logger, metrics } = deps;
  const l1Options = deps.l1 === false ? undefined : (deps.l1 ?? DEFAULT_L1);
  if (l1Options) checkPositive('l1.ttlMs', l1Options.ttlMs);
  const l1 = l1Options ? createLru<CachedDecision>({ maxEntries: l1Options.maxEntries, now }) : undefined;
  const builder = createKeyBuilder(deps.release);
  const l1Ttl = l1Options?.ttlMs ?? 0;

  const redis = deps.redis;
  const l2Options = redis && deps.l2 !== false ? { ...DEFAULT_L2, ...deps.l2 } : undefined;
  if (l2Options) {
    checkPositive('l2.ttlMs', l2Options.ttlMs);
    checkPositive('l2.timeoutMs', l2Options.timeoutMs);
  }
  const breakerOptions = deps.breaker ?? DEFAULT_BREAKER;
  const breaker = createBreaker({
    ...breakerOptions,
    now,
    onChange(state) {
      metrics?.breaker?.(state);
      if (state === 'open') logger?.warn({ cooldownMs: breakerOptions.cooldownMs }, 'decision cache: Redis failing; shared level paused');
      else if (state === 'closed') logger?.info({}, 'decision cache: Redis answering again; shared level resumed');
    },
  });
  let l2Errors = 0;
  const redisError = (operation: string): void => {
    l2Errors += 1;
    metrics?.redisError?.(operation);
  };
  const shared: SharedLevel | undefined =
    redis && l2Options ? createSharedLevel({ redis, timeoutMs: l2Options.timeoutMs, breaker, onFailure: (op) => redisError(op) }) : undefined;
  const onConnectionError = (): void => redisError('connection');
  redis?.on('error', onConnectionError);

  let hitsL1 = 0;
  let hitsL2 = 0;
  let misses = 0;
  // Measured evaluation cost per key scope (policy set and generation), a moving average in µs.
  const costs = new WeakMap<DecisionKey['scope'], number>();
  const minEval = l2Options?.minEvalMicros ?? 0;
  const usesL2 = (key: DecisionKey): boolean => {
    if (!shared) return false;
    if (minEval <= 0) return true;
    const cost = costs.get(key.scope);
    return cost !== undefined && cost >= minEval;
  };
  const learn = (key: DecisionKey, micros: number | undefined): void => {
    if (micros === undefined || !(micros >= 0)) return;
    const prev = costs.get(key.scope);
    costs.set(key.scope, prev === undefined ? micros : prev * 0.7 + micros * 0.3);
  };

  const getL1 = (key: DecisionKey): CachedDecision | undefined => {
    if (!l1 || !builder.owns(key)) return undefined;
    const hit = l1.get(key.local);
    if (hit) hitsL1 += 1;
    return hit;
  };

  const fromL2 = async (key: DecisionKey, prefix: string, level: SharedLevel): Promise<CachedDecision | undefined> => {
    const text = await level.get(sharedKey(prefix, portableText(key)));
    const entry = text === undefined ? undefined : decodeEntry(text);
    if (!entry) {
      if (text !== undefined) redisError('decode');
      misses += 1;
      return undefined;
    }
    hitsL2 += 1;
    l1?.set(key.local, { ...entry, level: 'l1' }, l1Ttl);
    return { ...entry, level: 'l2' };
  };

  const lookup = (key: DecisionKey): CachedDecision | undefined | Promise<CachedDecision | undefined> => {
    const hit = getL1(key);
    if (hit) return hit;
    if (!shared || !l2Options || !builder.owns(key) || !usesL2(key)) {
      misses += 1;
      return undefined;
    }
    return fromL2(key, l2Options.prefix, shared);
  };

  // ── The generation entries are made under ──────────────────────────────────────────────────
  const holder = createGenerationHolder();
  const clear = (): void => {
    l1?.clear();
  };

  const setGeneration = (hash: string): PolicyGeneration => {
    const next = holder.advance(hash);
    if (next) {
      clear();
      builder.reset();
    }
    return next ?? (holder.current() as PolicyGeneration);
  };

  return {
    keyOf: (input) => builder.key(input),
    keysOf: (set) => builder.keysOf(set),
    getL1,
    lookup,
    async get(key) {
      return lookup(key);
    },
    set(key, entry, options) {
      if (!builder.owns(key)) return;
      const ttl = options?.ttlMs;
      if (l1) l1.set(key.local, { ...entry, level: 'l1' }, ttl === undefined ? l1Ttl : Math.min(ttl, l1Ttl));
      learn(key, options?.evalMicros);
      if (shared && l2Options && usesL2(key)) {
        const l2Ttl = ttl === undefined ? l2Options.ttlMs : Math.min(ttl, l2Options.ttlMs);
        if (l2Ttl > 0) shared.set(sharedKey(l2Options.prefix, portableText(key)), encodeEntry(entry), l2Ttl);
      }
    },
    usesL2,
    generation: () => holder.current(),
    setGeneration,
    clear,
    stats() {
      const generation = holder.current();
      return {
        l1Entries: l1?.size ?? 0,
        hitsL1,
        hitsL2,
        misses,
        l2Errors,
        breaker: shared ? breaker.state() : 'off',
        ...(generation ? { generation } : {}),
      };
    },
    async close() {
      redis?.off('error', onConnectionError);
    },
  };
}
