// Group commit on a file descriptor: lines appended during one turn of the event loop go out in one
// `fs.write`, and everyone waiting on them is released together when it returns (the bytes are then
// in the kernel: a kill -9 cannot lose them). While a write is in flight, new lines collect for the
// next one. On a pipe each write stays within PIPE_BUF, so lines of other writers (the logger, other
// workers) never interleave with ours.
import { write as fsWrite } from 'node:fs';

/** Lines that go out in one write, and the one promise everyone waiting on them shares. */
interface Chunk {
  text: string;
  bytes: number;
  /** Records (not notes) in this chunk, for the written count. */
  records: number;
  /** The part of `text` still to write, once a write was partial or failed. */
  rest: Buffer | undefined;
  promise: Promise<void> | undefined;
  resolve: (() => void) | undefined;
  reject: ((err: unknown) => void) | undefined;
}

export interface FdWriterEvents {
  /** A write failed (each failure once); the writer keeps the bytes and tries again after `retryMs`. */
  onError(err: unknown): void;
  /** A write succeeded (after failures: the destination is back). */
  onWritten(records: number): void;
}

export interface FdWriter {
  /**
   * Appends a line (ending in a newline); `record` counts it as a record. `wait` asks for a promise
   * that settles when the line is written; otherwise undefined is returned.
   */
  append(line: string, record: boolean, wait: boolean): Promise<void> | undefined;
  /** Starts writing what is pending now (batched mode calls this on its own schedule). */
  kick(): void;
  /** Bytes accepted and not yet written. */
  readonly pendingBytes: number;
  /** Records accepted and not yet written. */
  readonly pendingRecords: number;
  /** Resolves once everything accepted so far is written. */
  drained(): Promise<void>;
  /** Rejects every waiter still pending (the sink is failing or closing). */
  rejectAll(err: unknown): void;
  /** Stops retrying. */
  stop(): void;
}

export interface FdWriterOptions {
  /** Largest single write (PIPE_BUF on pipes). */
  readonly maxWrite: number;
  /** Start a write at the end of the turn (durable) or only when `kick` is called (batched). */
  readonly eager: boolean;
  readonly retryMs: number;
}

function newChunk(): Chunk {
  return { text: '', bytes: 0, records: 0, rest: undefined, promise: undefined, resolve: undefined, reject: undefined };
}

/** Creates the writer for one descriptor; the caller owns the descriptor. */
export function createFdWriter(fd: number, options: FdWriterOptions, events: FdWriterEvents): FdWriter {
  const { maxWrite, eager, retryMs } = options;
  /** Full chunks waiting, oldest first; `open` takes new lines. */
  const full: Chunk[] = [];
  let open = newChunk();
  let pendingBytes = 0;
  let pendingRecords = 0;
  let writing = false;
  let scheduled = false;
  let stopped = false;
  let failing = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const idle: (() => void)[] = [];

  const settleIdle = (): void => {
    if (pendingBytes === 0) for (const done of idle.splice(0, idle.length)) done();
  };

  const next = (): Chunk | undefined => {
    const head = full[0];
    if (head) return head;
    if (open.bytes === 0) return undefined;
    full.push(open);
    open = newChunk();
    return full[0];
  };

  const done = (chunk: Chunk): void => {
    full.shift();
    pendingBytes -= chunk.bytes;
    pendingRecords -= chunk.records;
    chunk.resolve?.();
    events.onWritten(chunk.records);
  };

  const writeNext = (): void => {
    scheduled = false;
    if (writing || stopped) return;
    const chunk = next();
    if (!chunk) {
      settleIdle();
      return;
    }
    writing = true;
    const after = (err: NodeJS.ErrnoException | null, n: number, total: number): void => {
      writing = false;
      if (err) {
        if (err.code === 'EAGAIN') {
          // A non-blocking pipe is full: not a failure, try again shortly.
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            writeNext();
          }, 10);
          return;
        }
        chunk.rest ??= Buffer.from(chunk.text);
        if (!failing) {
          failing = true;
          events.onError(err);
        }
        retryTimer ??= setTimeout(() => {
          retryTimer = undefined;
          writeNext();
        }, retryMs).unref();
        return;
      }
      failing = false;
      if (n < total) {
        chunk.rest = (chunk.rest ?? Buffer.from(chunk.text)).subarray(n);
        writeNext();
        return;
      }
      done(chunk);
      writeNext();
    };
    if (chunk.rest) {
      const rest = chunk.rest;
      fsWrite(fd, rest, 0, rest.length, null, (err, n) => after(err, n, rest.length));
    } else {
      fsWrite(fd, chunk.text, null, 'utf8', (err, n) => after(err, n, chunk.bytes));
    }
  };

  const schedule = (): void => {
    if (scheduled || writing || stopped || retryTimer) return;
    scheduled = true;
    setImmediate(writeNext);
  };

  return {
    append(line, record, wait) {
      const bytes = Buffer.byteLength(line);
      if (open.bytes > 0 && open.bytes + bytes > maxWrite) {
        full.push(open);
        open = newChunk();
      }
      const chunk = open;
      chunk.text += line;
      chunk.bytes += bytes;
      pendingBytes += bytes;
      if (record) {
        chunk.records++;
        pendingRecords++;
      }
      if (eager) schedule();
      if (!wait) return undefined;
      chunk.promise ??= new Promise<void>((resolve, reject) => {
        chunk.resolve = resolve;
        chunk.reject = reject;
      });
      return chunk.promise;
    },
    kick: schedule,
    get pendingBytes() {
      return pendingBytes;
    },
    get pendingRecords() {
      return pendingRecords;
    },
    drained() {
      if (pendingBytes === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idle.push(resolve);
        schedule();
      });
    },
    rejectAll(err) {
      for (const chunk of [...full, open]) {
        chunk.reject?.(err);
        chunk.resolve = undefined;
        chunk.reject = undefined;
      }
    },
    stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
    },
  };
}
