// StateStore on Redis (ioredis), shared by every replica. The client is built to fail fast: a
// command against a dead or frozen server fails within `commandTimeout` instead of queueing, and
// every failure surfaces as StateUnavailableError so that callers fail closed.
import { Redis, type RedisOptions } from 'ioredis';
import { StateUnavailableError, type StateStore } from './store.js';

export interface RedisClientOptions {
  /** Per-command deadline in ms (default 500). */
  readonly commandTimeoutMs?: number;
  /** Called on connection errors (ioredis emits them on every failed reconnect). */
  readonly onError?: (err: Error) => void;
  /** How to reach Redis beyond the URL (Sentinel: `sentinels` and `name`); the fail-fast options above win. */
  readonly connection?: Omit<RedisOptions, 'replyMapping'>;
}

/**
 * Connects an ioredis client with fail-fast options: bounded command time, one retry, no offline
 * queue (commands sent while disconnected fail at once), and an `error` listener.
 */
export function createRedisClient(url: string | undefined, options: RedisClientOptions = {}): Redis {
  const settings = {
    ...options.connection,
    commandTimeout: options.commandTimeoutMs ?? 500,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: (attempt: number) => Math.min(100 * attempt, 2000),
  };
  // Without a URL, the connection options alone say where Redis is (Sentinel).
  const client = url === undefined ? new Redis(settings) : new Redis(url, settings);
  const onError = options.onError ?? (() => undefined);
  client.on('error', onError);
  return client;
}

/** Resolves once the client is ready, or rejects after `timeoutMs`. */
export async function redisReady(client: Redis, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new StateUnavailableError(`redis not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

// INCR that sets the expiry only when it created the counter (portable to Redis < 7, no PEXPIRE NX).
const INCR_WITH_TTL = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

// Whether a field is a time as iamgate writes it (STORED_TIME): at most 16 digits, an optional fraction.
const IS_TIME = `local function is_time(s)
  local whole = string.match(s, '^(%d+)%.%d+$') or string.match(s, '^(%d+)$')
  return whole ~= nil and #whole <= 16
end
`;

// hashRaise in one step, as raisedTime reads it: a field is kept only when it is a time no earlier
// than the new one; a field that is not a time gives way to the later of the new time and Redis's
// time now (TIME, allowed in scripts since Redis 5).
const HASH_RAISE = `${IS_TIME}local stored = redis.call('HGET', KEYS[1], ARGV[1])
local raised = ARGV[2]
if stored then
  if is_time(stored) then
    if tonumber(stored) >= tonumber(ARGV[2]) then return stored end
  else
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if now > tonumber(ARGV[2]) then raised = string.format('%.0f', now) end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], raised)
return raised`;

// hashPrune in one step, as storedBefore reads it: a field raised by another replica between a
// read and a delete is never removed, since the comparison and the HDEL happen together.
const HASH_PRUNE = `${IS_TIME}local all = redis.call('HGETALL', KEYS[1])
local before = tonumber(ARGV[1])
local removed = 0
for i = 1, #all, 2 do
  local value = all[i + 1]
  if is_time(value) and tonumber(value) < before then
    redis.call('HDEL', KEYS[1], all[i])
    removed = removed + 1
  end
end
return removed`;

/** The store's scripts by the operation each runs, the name its unavailability errors give. */
const SCRIPTS = { incr: INCR_WITH_TTL, hashRaise: HASH_RAISE, hashPrune: HASH_PRUNE } as const;

export interface RedisStoreOptions {
  /** Prefix of every key (default `iamgate:`). */
  readonly prefix?: string;
}

/** Creates a StateStore on an ioredis client; errors become StateUnavailableError. */
export function createRedisStateStore(client: Redis, options: RedisStoreOptions = {}): StateStore {
  const prefix = options.prefix ?? 'iamgate:';
  const guard = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw new StateUnavailableError(`redis ${op} failed: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  };
  const ttl = (ms: number): number => Math.max(1, Math.ceil(ms));
  /** Runs one of SCRIPTS on `key`; a failure is named after the script's operation. */
  const script = (name: keyof typeof SCRIPTS, key: string, ...args: (string | number)[]): Promise<unknown> =>
    guard(`${name} script`, () => client.eval(SCRIPTS[name], 1, prefix + key, ...args));

  return {
    shared: true,
    get: (key) => guard('GET', async () => (await client.get(prefix + key)) ?? undefined),
    set: (key, value, ttlMs) =>
      guard('SET', async () => {
        if (ttlMs === undefined) await client.set(prefix + key, value);
        else await client.set(prefix + key, value, 'PX', ttl(ttlMs));
      }),
    setIfAbsent: (key, value, ttlMs) =>
      guard('SET NX', async () =>
        (ttlMs === undefined ? await client.set(prefix + key, value, 'NX') : await client.set(prefix + key, value, 'PX', ttl(ttlMs), 'NX')) === 'OK',
      ),
    incr: async (key, ttlMs) => Number(await script('incr', key, ttl(ttlMs))),
    del: (key) =>
      guard('DEL', async () => {
        await client.del(prefix + key);
      }),
    hashSet: (key, field, value) =>
      guard('HSET', async () => {
        await client.hset(prefix + key, field, value);
      }),
    hashGetAll: (key) => guard('HGETALL', async () => new Map(Object.entries(await client.hgetall(prefix + key)))),
    hashRaise: async (key, field, value) => String(await script('hashRaise', key, field, String(value))),
    hashPrune: async (key, before) => Number(await script('hashPrune', key, String(before))),
  };
}
