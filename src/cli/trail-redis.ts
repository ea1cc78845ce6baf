// The Redis an audit trail is read from (`audit verify --redis URL`, `replay --redis URL`): one
// connection with fail-fast settings, and, when it cannot be used, one line saying where (never
// the password) and why, instead of the client's bare "Connection is closed.".
import { Redis } from 'ioredis';
import { checkRedisUrl } from '../config/reader.js';

export type TrailRedisRead<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly usage: boolean; readonly reason: string };

/** Connects to `url`, runs `read` with the connection and closes it; a failure says where and why. */
export async function readTrailRedis<T>(url: string, read: (redis: Redis) => Promise<T>): Promise<TrailRedisRead<T>> {
  const wrong = checkRedisUrl(url);
  if (wrong !== undefined) return { ok: false, usage: true, reason: `--redis: ${wrong}` };
  const { protocol, host } = new URL(url);
  const where = `${protocol}//${host}`;
  let lastError: string | undefined;
  const redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 10_000, connectTimeout: 5000, lazyConnect: true, retryStrategy: () => null });
  // The reason of a refused connection or password, which the rejected command does not carry.
  redis.on('error', (err: Error) => {
    lastError = err.message;
  });
  try {
    await redis.connect();
    return { ok: true, value: await read(redis) };
  } catch (err) {
    const reason = lastError ?? (err instanceof Error ? err.message : String(err));
    return { ok: false, usage: false, reason: `cannot read the trail from Redis at ${where} (--redis): ${reason}` };
  } finally {
    redis.disconnect();
  }
}
