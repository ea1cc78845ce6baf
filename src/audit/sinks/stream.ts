// The stdout and file sinks: lines go through pino's destination (sonic-boom) on a file descriptor,
// written asynchronously with fs.write. In durable mode every record's promise settles when the
// write that holds it returns (the bytes are in the kernel: a kill -9 cannot lose them); records
// that arrive while a write is in flight go out together in the next one (group commit). In batched
// mode lines wait until `batchBytes` are pending or `flushIntervalMs` has passed.
import { fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import type { SealedRecord } from '../chain.js';
import { AuditError } from '../errors.js';
import { createQueue } from './queue.js';
import { createGapTracker, type RecordSink, type SinkStats, type WhenFull } from './types.js';

export type Durability = 'durable' | 'batched';

export interface StreamSinkOptions {
  /** `durable` (default): a record's promise settles once its bytes are written. */
  readonly durability?: Durability;
  /** Batched mode: write once this many bytes wait (default 16 KiB; at most 4 KiB on stdout). */
  readonly batchBytes?: number;
  /** Batched mode: write at least this often, in ms (default 200). */
  readonly flushIntervalMs?: number;
  /** Bound on bytes accepted but not yet written (default 8 MiB). */
  readonly maxBufferBytes?: number;
  /** At the bound or after a failed write: `refuse` (default) or `drop`. */
  readonly whenFull?: WhenFull;
  /** After a failed write, retry after this many ms (default 500). */
  readonly retryMs?: number;
  readonly now?: () => number;
}

interface Waiter {
  readonly end: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** Largest single write to a pipe: writes up to PIPE_BUF bytes are atomic, so lines never interleave. */
const PIPE_ATOMIC_BYTES = 4096;

function createFdSink(name: string, fd: number, pipe: boolean, options: StreamSinkOptions, firstBytes: string): RecordSink {
  const durable = (options.durability ?? 'durable') === 'durable';
  const maxBufferBytes = options.maxBufferBytes ?? 8 * 1024 * 1024;
  const whenFull = options.whenFull ?? 'refuse';
  const retryMs = options.retryMs ?? 500;
  const gaps = createGapTracker(name, options.now ?? Date.now);
  const batchBytes = options.batchBytes ?? 16 * 1024;
  // On a pipe (stdout) each write stays within PIPE_BUF so lines of other writers never interleave;
  // a batch is then at most one such write.
  const maxWrite = pipe ? PIPE_ATOMIC_BYTES : Math.max(64 * 1024, 2 * batchBytes);
  const boom = pino.destination({
    dest: fd,
    sync: false,
    contentMode: 'buffer',
    minLength: durable ? 0 : Math.min(batchBytes, maxWrite - 1),
    maxWrite,
    ...(durable ? {} : { periodicFlush: options.flushIntervalMs ?? 200 }),
  });
  // In buffer content mode sonic-boom writes Buffers; its typings only declare strings.
  const writeBytes = boom.write.bind(boom) as unknown as (chunk: Buffer) => boolean;
  let acceptedBytes = 0;
  let writtenBytes = 0;
  /** Byte offsets where each record not yet written ends, to count written records. */
  const recordEnds = createQueue<number>();
  const waiters = createQueue<Waiter>();
  const idle: (() => void)[] = [];
  let written = 0;
  let dropped = 0;
  let failures = 0;
  let healthy = true;
  let lastError: unknown;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const settle = (): void => {
    while ((recordEnds.peek() ?? Infinity) <= writtenBytes) {
      recordEnds.shift();
      written++;
    }
    while ((waiters.peek()?.end ?? Infinity) <= writtenBytes) waiters.shift()?.resolve();
    if (writtenBytes >= acceptedBytes) for (const done of idle.splice(0, idle.length)) done();
  };
  /** Batched mode: while someone waits in flush(), keep writing below the batch size. */
  const kick = (): void => {
    if (!durable && idle.length > 0 && writtenBytes < acceptedBytes) boom.flush();
  };
  boom.on('drain', kick);
  boom.on('write', (n: number) => {
    writtenBytes += n;
    healthy = true;
    settle();
  });
  boom.on('error', (err: unknown) => {
    // pino's destination re-emits the first error it sees: count each error once.
    if (err === lastError) return;
    if (closed) {
      boom.destroy();
      return;
    }
    failures++;
    healthy = false;
    lastError = err;
    const failure = new AuditError('ERR_AUDIT_WRITE_FAILED', `audit sink ${name}: write failed`, { sink: name, cause: err });
    for (const w of waiters.drain()) w.reject(failure);
    // sonic-boom keeps the unwritten bytes; an empty write makes it try them again.
    retryTimer ??= setTimeout(() => {
      retryTimer = undefined;
      if (!closed) writeBytes(Buffer.alloc(0));
    }, retryMs).unref();
  });

  const append = (text: string): number => {
    const bytes = Buffer.from(text);
    acceptedBytes += bytes.length;
    writeBytes(bytes);
    return bytes.length;
  };
  if (firstBytes) append(firstBytes);

  return {
    name,
    whenFull,
    accepting: () => healthy && acceptedBytes - writtenBytes < maxBufferBytes,
    write(record) {
      if (closed) throw new AuditError('ERR_AUDIT_CLOSED', `audit sink ${name} is closed`, { sink: name });
      // A `refuse` sink is asked `accepting()` before each record; a `drop` sink drops here.
      const full = acceptedBytes - writtenBytes + record.line.length > maxBufferBytes;
      if (whenFull === 'drop' && (full || !healthy)) {
        dropped++;
        gaps.drop(record);
        return durable ? Promise.resolve() : undefined;
      }
      if (gaps.pending) for (const note of gaps.take()) append(note);
      append(record.line);
      recordEnds.push(acceptedBytes);
      if (!durable) return undefined;
      const end = acceptedBytes;
      return new Promise<void>((resolve, reject) => waiters.push({ end, resolve, reject }));
    },
    flush() {
      if (writtenBytes >= acceptedBytes) return Promise.resolve();
      if (!healthy) {
        return Promise.reject(new AuditError('ERR_AUDIT_WRITE_FAILED', `audit sink ${name}: write failed`, { sink: name, cause: lastError }));
      }
      return new Promise<void>((resolve) => {
        idle.push(resolve);
        kick();
      });
    },
    async close() {
      if (closed) return;
      if (healthy) await this.flush();
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await new Promise<void>((resolve) => {
        boom.once('close', () => resolve());
        // A failing destination is closed without writing what it holds (the error handler does the
        // same if the last write fails while ending).
        if (healthy) boom.end();
        else boom.destroy();
      });
    },
    stats: (): SinkStats => ({ written, dropped, buffered: recordEnds.length, failures, healthy }),
  };
}

/** Whether an open file is not empty and does not end with a newline (a line torn by a crash). */
function endsTorn(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

/** Sink writing to standard output (the default: container log collectors pick it up). */
export function createStdoutSink(options: StreamSinkOptions = {}): RecordSink {
  return createFdSink('stdout', 1, true, options, '');
}

/**
 * Sink appending to a file (its folder created if missing). The file is opened here, at start, so
 * a path that cannot be written fails the start (it throws) instead of every later request. A torn
 * last line left by a crash is ended with a newline first, so new records start on a line of their own.
 */
export function createFileSink(path: string, options: StreamSinkOptions = {}): RecordSink {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a+');
  return createFdSink('file', fd, false, options, endsTorn(fd) ? '\n' : '');
}
