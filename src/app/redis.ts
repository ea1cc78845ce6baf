// Every Redis connection iamgate opens, from one factory with one set of fail-fast settings
// (auth's createRedisClient: 500 ms per command, one retry, no offline queue, 2 s to connect,
// reconnection with a capped back-off). Each part gets a connection of its own, so that a slow
// command of one part never queues another part's commands behind it on the same socket:
//   state  — authentication state (revocations, MFA lockouts, TOTP replay), where 500 ms is the
//            deadline: a state read that fails makes the request fail closed.
//   cache  — the decision cache's shared level. The client's 500 ms is only a ceiling: every L2
//            command carries its own, shorter deadline (`cache.l2.timeoutMs`, 50 ms by default)
//            and a circuit breaker, so a slow Redis costs a request at most that, as a miss.
//   bus    — the cluster bus (policy generations, revocations); its subscriber is a duplicate
//            that waits without a deadline, its publishes have their own (1 s).
//   audit  — the audit stream behind Sentinel (with a plain URL the sink connects by itself).
import type { Redis } from 'ioredis';
import { createRedisClient } from '../auth/index.js';
import type { GatewayConfig } from '../config/index.js';

export type RedisRole = 'state' | 'cache' | 'bus' | 'audit';

/** Opens a connection for one part of iamgate; `onError` hears its connection errors. */
export type RedisFactory = (role: RedisRole, onError: (err: Error) => void) => Redis;

/** Whether the configuration turns Redis on (`redis.url`, `REDIS_URL` or `redis.sentinel`). */
export function redisConfigured(redis: GatewayConfig['redis']): boolean {
  return redis.url !== undefined || redis.sentinel !== undefined;
}

/** The factory for a configuration's Redis (standalone by URL, or its primary through Sentinel). */
export function redisFactory(redis: GatewayConfig['redis']): RedisFactory {
  const { url, sentinel } = redis;
  // Sentinel: the sentinels name the current primary; the URL gives only credentials, database and TLS.
  const connection = sentinel ? { connection: { sentinels: sentinel.nodes.map((n) => ({ ...n })), name: sentinel.masterName } } : {};
  return (_role, onError) => createRedisClient(url, { onError, ...connection });
}

/** Where the configuration says Redis is, for a log line: host and port (never the password), or the sentinel set. */
export function redisTarget(redis: GatewayConfig['redis']): string {
  if (redis.sentinel) return `${redis.sentinel.masterName} through redis.sentinel`;
  if (redis.url === undefined) return 'none';
  const url = new URL(redis.url);
  return `${url.protocol}//${url.host} (redis.url or REDIS_URL)`;
}

/** What `watchRedisReach` logs to. */
export interface ReachLogger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

/**
 * Says once, when the connection is lost or cannot be made (Redis down, or the password refused),
 * that Redis is unavailable (where, and the connection's reason), and once when it answers:
 * ioredis reports every failed reconnection and every refused command, which would repeat the
 * same news several times a second.
 */
export function watchRedisReach(client: Redis, redis: GatewayConfig['redis'], logger: ReachLogger): void {
  let down = false;
  client.on('error', (err: Error) => {
    if (down || client.status === 'ready') return;
    down = true;
    logger.warn(
      { redis: redisTarget(redis), err: err.message },
      'redis unavailable: shared state (revocations, MFA) is unavailable until it answers, and the gateway is not ready before it has answered once (docs/identity.md, "When Redis is down")',
    );
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ redis: redisTarget(redis) }, 'redis answers');
  });
}

/** A client of its own for the audit sink when Redis is reached through Sentinel; undefined otherwise. */
export function createSentinelClient(redis: GatewayConfig['redis'], onError: (err: Error) => void): Redis | undefined {
  return redis.sentinel ? redisFactory(redis)('audit', onError) : undefined;
}

/**
 * What a Redis that may evict keys under memory pressure would cost: undefined when it never evicts
 * (`maxmemory 0`, or `maxmemory-policy noeviction`). With `volatile-*` it drops the keys that
 * expire (TOTP replay marks, failed-attempt counts, lockouts); with `allkeys-*` the revocation list
 * and the MFA secrets too. Read from `INFO memory`, which managed Redis services answer where
 * CONFIG is disabled; a failure to read it says nothing.
 */
export async function evictionWarning(client: Redis): Promise<string | undefined> {
  let info: string;
  try {
    info = await client.info('memory');
  } catch {
    return undefined;
  }
  const field = (name: string): string | undefined => info.split(/\r?\n/).find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
  const policy = field('maxmemory_policy');
  if (field('maxmemory') === '0' || policy === undefined || policy === 'noeviction') return undefined;
  const lost = policy.startsWith('allkeys') ? 'any key, revocations and MFA secrets included' : 'keys that expire: TOTP replay marks, failed-attempt counts and lockouts';
  return `redis evicts ${lost} under memory pressure (maxmemory-policy ${policy}): set maxmemory-policy noeviction for the Redis iamgate keeps its security state in`;
}
