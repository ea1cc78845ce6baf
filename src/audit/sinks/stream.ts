// The stdout and file sinks: lines written to a file descriptor with group commit (fd-writer.ts;
// on the main thread where a write cannot block, descriptor.ts). In durable mode a record's promise
// settles when the write that holds it returns (the bytes are in the kernel: a kill -9 cannot lose
// them); every record of one event-loop turn goes out in one write and shares one promise. In batched mode lines wait until `batchBytes` are
// pending or `flushIntervalMs` has passed; past a high-water mark the caller is made to wait for
// the write instead (backpressure), so a sink that keeps up never refuses or drops under load.
import { constants, fstatSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeFolderSync } from '../../config/index.js';
import { AuditError } from '../errors.js';
import { PIPE_BUF } from '../fit.js';
import { describeDescriptor } from './descriptor.js';
import { createFdWriter } from './fd-writer.js';
import type { SealedRecord } from '../chain.js';
import { createGapTracker, type RecordSink, type SinkStats, type WhenFull } from './types.js';

export type Durability = 'durable' | 'batched';

export interface StreamSinkOptions {
  /** `durable` (default): a record's promise settles once its bytes are written. */
  readonly durability?: Durability;
  /** Batched mode: write once this many bytes wait (default 16 KiB; at most 4 KiB on a pipe). */
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

/** Largest single write elsewhere (a file, a terminal, /dev/null). */
const FILE_WRITE_BYTES = 1024 * 1024;

/** A sink on a file descriptor: it always takes callbacks (`writeThen`). */
type FdSink = RecordSink & Required<Pick<RecordSink, 'writeThen'>>;

function createFdSink(name: string, fd: number, owned: boolean, options: StreamSinkOptions, firstBytes: string): FdSink {
  const durable = (options.durability ?? 'durable') === 'durable';
  const maxBufferBytes = options.maxBufferBytes ?? 8 * 1024 * 1024;
  const whenFull = options.whenFull ?? 'refuse';
  const gaps = createGapTracker(name, options.now ?? Date.now);
  const descriptor = describeDescriptor(fd);
  // Writes up to PIPE_BUF bytes are atomic on a pipe, so lines never interleave with other writers'.
  const maxWrite = descriptor.shared ? PIPE_BUF : FILE_WRITE_BYTES;
  const batchBytes = Math.min(options.batchBytes ?? 16 * 1024, maxWrite);
  // Batched mode: past this many pending bytes callers wait for the write (well below the bound).
  const highWater = Math.max(batchBytes, Math.floor(maxBufferBytes / 8));
  let written = 0;
  let dropped = 0;
  let failures = 0;
  let healthy = true;
  let lastError: unknown;
  let closed = false;

  const writer = createFdWriter(
    fd,
    { maxWrite, eager: durable, retryMs: options.retryMs ?? 500, mainThread: descriptor.neverBlocks },
    {
      onError(err) {
        failures++;
        healthy = false;
        lastError = err;
        writer.rejectAll(new AuditError('ERR_AUDIT_WRITE_FAILED', `audit sink ${name}: write failed`, { sink: name, cause: err }));
      },
      onWritten(records) {
        written += records;
        healthy = true;
      },
    },
  );
  const timer = durable ? undefined : setInterval(() => writer.kick(), options.flushIntervalMs ?? 200).unref();
  if (firstBytes) writer.append(firstBytes, Buffer.byteLength(firstBytes), false, false);

  /**
   * Whether `record` is to be written: false when a `drop` sink drops it here (a `refuse` sink is
   * asked `accepting()` before each record). Gap notes waiting go in first. Throws once closed.
   */
  const admit = (record: SealedRecord): boolean => {
    if (closed) throw new AuditError('ERR_AUDIT_CLOSED', `audit sink ${name} is closed`, { sink: name });
    if (whenFull === 'drop' && (!healthy || writer.pendingBytes + record.bytes > maxBufferBytes)) {
      dropped++;
      gaps.drop(record);
      return false;
    }
    if (gaps.pending) for (const note of gaps.take()) writer.append(note, Buffer.byteLength(note), false, false);
    return true;
  };

  return {
    name,
    whenFull,
    accepting: () => healthy && writer.pendingBytes < maxBufferBytes,
    write(record) {
      if (!admit(record)) return durable ? Promise.resolve() : undefined;
      if (durable) return writer.append(record.line, record.bytes, true, true);
      const pressed = writer.pendingBytes >= highWater;
      const pending = writer.append(record.line, record.bytes, true, pressed);
      if (writer.pendingBytes >= batchBytes) writer.kick();
      return pending;
    },
    writeThen(record, done) {
      if (!admit(record)) return false;
      if (durable) {
        writer.appendThen(record.line, record.bytes, done);
        return true;
      }
      const pressed = writer.pendingBytes >= highWater;
      if (pressed) writer.appendThen(record.line, record.bytes, done);
      else writer.append(record.line, record.bytes, true, false);
      if (writer.pendingBytes >= batchBytes) writer.kick();
      return pressed;
    },
    flush() {
      if (writer.pendingBytes === 0) return Promise.resolve();
      if (!healthy) {
        return Promise.reject(new AuditError('ERR_AUDIT_WRITE_FAILED', `audit sink ${name}: write failed`, { sink: name, cause: lastError }));
      }
      return writer.drained();
    },
    async close() {
      if (closed) return;
      if (healthy) await this.flush();
      closed = true;
      if (timer) clearInterval(timer);
      writer.stop();
      writer.rejectAll(new AuditError('ERR_AUDIT_CLOSED', `audit sink ${name} is closed`, { sink: name }));
      // A failing destination is closed without writing what it holds.
      if (owned) closeSync(fd);
    },
    stats: (): SinkStats => ({ written, dropped, buffered: writer.pendingRecords, failures, healthy }),
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
  return createFdSink('stdout', 1, false, options, '');
}

/** A file sink, which can tell whether its file is still in a folder. */
export interface FileSink extends FdSink {
  /** False once the open file has been deleted (no name links to it): what is written there is lost. */
  linked(): boolean;
}

// 'a+' without following a symbolic link at the path: someone who can write the log folder must not
// be able to point the trail at another file (a file of theirs, or one iamgate's user may write).
const APPEND_NO_FOLLOW = constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW;

/**
 * Sink appending to a file (its folder created if missing). The file is opened here, at start, so
 * a path that cannot be written fails the start (it throws) instead of every later request; so
 * does a symbolic link at the path (ELOOP). A torn last line left by a crash is ended with a
 * newline first, so new records start on a line of their own.
 */
export function createFileSink(path: string, options: StreamSinkOptions = {}): FileSink {
  makeFolderSync(dirname(path));
  const fd = openSync(path, APPEND_NO_FOLLOW, 0o666);
  const sink = createFdSink('file', fd, true, options, endsTorn(fd) ? '\n' : '');
  return {
    ...sink,
    linked() {
      try {
        return fstatSync(fd).nlink > 0;
      } catch {
        return true; // closed: nothing more is written there
      }
    },
  };
}
