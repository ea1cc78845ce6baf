// The Redis Stream sink: the central trail that every sidecar appends to, with XADD and an
// approximate bound on the stream's length. Writes are asynchronous and in order: one pipeline of
// XADDs in flight at a time. While Redis is away records wait in a bounded buffer and go out, in
// order, when it is back; past the bound they are dropped and counted (or refused, if configured),
// and a gap note in the stream says which sequence numbers are missing.
import { Redis, type RedisOptions } from 'ioredis';
import type { SealedRecord } from '../chain.js';
import { AuditError } from '../errors.js';
import { createQueue } from './queue.js';
import { createGapTracker, type RecordSink, type SinkStats, type WhenFull } from './types.js';

/** The stream entry's only field: the record's line, exactly as the file sink writes it. */
export const STREAM_FIELD = 'r';
export const DEFAULT_STREAM = 'iamgate:audit';

/** ioredis options that make a command fail within a bound instead of waiting for Redis to return. */
export const FAIL_FAST_REDIS_OPTIONS = {
  commandTimeout: 1000,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  connectTimeout: 2000,
  lazyConnect: false,
} as const satisfies RedisOptions;

export interface RedisStreamSinkOptions {
  /** A client to use (the caller closes it), or a URL for a client the sink owns. */
  readonly redis: Redis | string;
  /** Stream key (default `iamgate:audit`). */
  readonly stream?: string;
  /** Approximate bound on the stream's length: `XADD ... MAXLEN ~ maxLen` (default 1,000,000). */
  readonly maxLen?: number;
  /** Records held while Redis is away (default 10,000). */
  readonly maxBuffer?: number;
  /** At the bound: `drop` (default; counted, and a gap note follows) or `refuse`. */
  readonly whenFull?: WhenFull;
  /** XADDs per pipeline (default 256). */
  readonly batchSize?: number;
  /** After a failure, try again after this many ms (default 1000; also on reconnection). */
  readonly retryMs?: number;
  readonly now?: () => number;
  /** Called with each Redis error, for logs and metrics (the sink has counted it already). */
  readonly onError?: (err: unknown) => void;
}

interface Entry {
  readonly line: string;
  /** False for gap notes (not counted as records). */
  readonly isRecord: boolean;
}

/** Creates a Redis client with the fail-fast options and an error listener, for the audit sink. */
export function createAuditRedisClient(url: string, onError: (err: unknown) => void): Redis {
  const client = new Redis(url, FAIL_FAST_REDIS_OPTIONS);
  client.on('error', onError);
  return client;
}

/** Creates the Redis Stream sink. */
export function createRedisStreamSink(options: RedisStreamSinkOptions): RecordSink {
  const stream = options.stream ?? DEFAULT_STREAM;
  const maxLen = String(options.maxLen ?? 1_000_000);
  const maxBuffer = options.maxBuffer ?? 10_000;
  const batchSize = options.batchSize ?? 256;
  const retryMs = options.retryMs ?? 1000;
  const whenFull = options.whenFull ?? 'drop';
  const gaps = createGapTracker('redis', options.now ?? Date.now);
  const queue = createQueue<Entry>();
  const idle: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  let written = 0;
  let dropped = 0;
  let failures = 0;
  let healthy = true;
  let inFlight = false;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;

  const report = (err: unknown): void => options.onError?.(err);
  const owned = typeof options.redis === 'string';
  const redis = typeof options.redis === 'string' ? createAuditRedisClient(options.redis, report) : options.redis;

  const scheduleRetry = (): void => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void pump();
    }, retryMs);
    retryTimer.unref();
  };
  const fail = (err: unknown): void => {
    failures++;
    healthy = false;
    report(err);
    const failure = new AuditError('ERR_AUDIT_WRITE_FAILED', 'audit sink redis: XADD failed', { sink: 'redis', cause: err });
    for (const w of idle.splice(0, idle.length)) w.reject(failure);
    scheduleRetry();
  };
  const onReady = (): void => void pump();
  redis.on('ready', onReady);

  async function pump(): Promise<void> {
    if (inFlight || queue.length === 0) return;
    if (redis.status !== 'ready') {
      // Still connecting for the first time: wait for `ready`. Anything else is an outage.
      if (redis.status === 'connecting' || redis.status === 'connect' || redis.status === 'wait') scheduleRetry();
      else fail(new Error(`redis connection is ${redis.status}`));
      return;
    }
    inFlight = true;
    const batch = queue.head(batchSize);
    let done = 0;
    let error: unknown;
    try {
      const pipeline = redis.pipeline();
      for (const entry of batch) pipeline.xadd(stream, 'MAXLEN', '~', maxLen, '*', STREAM_FIELD, entry.line);
      const results = (await pipeline.exec()) ?? [];
      for (const [err] of results) {
        if (err) {
          error = err;
          break;
        }
        done++;
      }
      if (results.length < batch.length && error === undefined) error = new Error('pipeline returned fewer replies');
    } catch (err) {
      error = err;
    }
    // Entries Redis took leave the queue; the rest are sent again (an XADD that timed out but
    // still reached Redis is then stored twice: `audit verify` reports identical repeats as such).
    for (let i = 0; i < done; i++) if (queue.shift()?.isRecord) written++;
    inFlight = false;
    if (error !== undefined) {
      fail(error);
      return;
    }
    healthy = true;
    if (queue.length > 0) void pump();
    else for (const w of idle.splice(0, idle.length)) w.resolve();
  }

  return {
    name: 'redis',
    whenFull,
    accepting: () => queue.length < maxBuffer,
    write(record) {
      if (closed) throw new AuditError('ERR_AUDIT_CLOSED', 'audit sink redis is closed', { sink: 'redis' });
      // A `refuse` sink is asked `accepting()` before each record; a `drop` sink drops here.
      if (whenFull === 'drop' && queue.length >= maxBuffer) {
        dropped++;
        gaps.drop(record);
        return undefined;
      }
      if (gaps.pending) for (const line of gaps.take()) queue.push({ line, isRecord: false });
      queue.push({ line: record.line, isRecord: true });
      void pump();
      return undefined;
    },
    flush() {
      if (queue.length === 0) return Promise.resolve();
      if (!healthy) {
        return Promise.reject(new AuditError('ERR_AUDIT_WRITE_FAILED', 'audit sink redis: Redis unavailable', { sink: 'redis' }));
      }
      return new Promise<void>((resolve, reject) => {
        idle.push({ resolve, reject });
        void pump();
      });
    },
    async close() {
      if (closed) return;
      try {
        await this.flush();
      } finally {
        closed = true;
        if (retryTimer) clearTimeout(retryTimer);
        redis.off('ready', onReady);
        if (owned) redis.disconnect();
      }
    },
    stats: (): SinkStats => ({ written, dropped, buffered: queue.length, failures, healthy }),
  };
}
