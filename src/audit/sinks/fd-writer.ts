// Group commit on a file descriptor: lines appended during one turn of the event loop go out in one
// write at the end of the turn, and everyone waiting on them is released together when it returns
// (the bytes are then in the kernel: a kill -9 cannot lose them). On a descriptor whose writes never
// block (a file, a character device, a non-blocking pipe: see descriptor.ts) the write is an
// `fs.writeSync` on the main thread: no thread-pool hop, no wake-up, no wait before the records'
// requests go on. Elsewhere (a blocking pipe) it is an `fs.write` on libuv's thread pool, and new
// lines collect for the next write while one is in flight. A full non-blocking pipe (EAGAIN) is
// tried again shortly, the chunk first, so order holds. On a pipe each write stays within
// PIPE_BUF, so lines of other writers (the logger, other workers) never interleave with ours.
//
// A record that comes alone (`appendThen` with nothing pending, after a turn that held at most one
// line) is written at once where writes are on the main thread, not at the end of its turn: one
// request at a time, waiting for the end of the turn cost a whole extra turn of the event loop
// before the request went on (undici writes a request on a reused connection from the check phase
// after its dispatch, so a dispatch made from our end-of-turn callback waited for the next turn).
// Its waiter is still called back only once the write has returned, on the next tick, and the end
// of its turn is marked only after that call: the request the waiter dispatches queues undici's
// check-phase write first, so nothing of the trail's runs between the record's write and the
// request's. The rest of that turn's lines are grouped as before, and a turn that held several
// lines makes the next one group from its first line on: under load every turn still goes out in
// one write (the first busy turn after a quiet one takes two: its lone first line, then the rest).
// A lone line the descriptor takes only in part (a nearly full pipe or disk) keeps its rest in a
// chunk of its own, written first at the end of the turn; the turn's later lines go in the next
// chunk.
import { write as fsWrite, writeSync } from 'node:fs';
import type { WriteDone } from './types.js';

/**
 * Lines that go out in one write, with who waits on them: the one promise callers of `append`
 * share, and the callbacks of `appendThen` (no Promise made for those).
 */
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
  waiters: WriteDone[] | undefined;
}

export interface FdWriterEvents {
  /** A write failed (each failure once); the writer keeps the bytes and tries again after `retryMs`. */
  onError(err: unknown): void;
  /** A write succeeded (after failures: the destination is back). */
  onWritten(records: number): void;
}

export interface FdWriter {
  /**
   * Appends a line (ending in a newline) of `bytes` UTF-8 bytes; `record` counts it as a record.
   * `wait` asks for a promise that settles when the line is written; otherwise undefined is returned.
   */
  append(line: string, bytes: number, record: boolean, wait: boolean): Promise<void> | undefined;
  /**
   * Appends a record's line, as `append` does, and calls `done` once when it is written (no
   * argument) or cannot be (`rejectAll`'s error), after the writer's own state is settled; never
   * before this returns (a lone record written at once is told so on the next tick). A `done` that
   * throws does not stop the others of its write: the throw surfaces on its own, later.
   */
  appendThen(line: string, bytes: number, done: WriteDone): void;
  /** Starts writing what is pending now (batched mode calls this on its own schedule). */
  kick(): void;
  /** Bytes accepted and not yet written. */
  readonly pendingBytes: number;
  /** Records accepted and not yet written. */
  readonly pendingRecords: number;
  /** Resolves once everything accepted so far is written. */
  drained(): Promise<void>;
  /** Rejects every waiter still pending, promise or callback (the sink is failing or closing). */
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
  /**
   * Write with `fs.writeSync` on the main thread (at the end of the turn, as the thread-pool path
   * starts its write): only for a descriptor whose writes never block (descriptor.ts).
   */
  readonly mainThread: boolean;
}

/** How soon a write that found a non-blocking pipe full (EAGAIN) is tried again, in ms. */
const FULL_PIPE_RETRY_MS = 10;

function newChunk(): Chunk {
  return { text: '', bytes: 0, records: 0, rest: undefined, promise: undefined, resolve: undefined, reject: undefined, waiters: undefined };
}

/**
 * Calls every waiter with `err` (undefined: written). One that throws (a bug in its caller) must not
 * leave the others waiting or the writer mid-loop: the first throw is raised again on its own.
 */
function release(waiters: readonly WriteDone[], err: unknown): void {
  for (const done of waiters) {
    try {
      done(err);
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }
}

/** Creates the writer for one descriptor; the caller owns the descriptor. */
export function createFdWriter(fd: number, options: FdWriterOptions, events: FdWriterEvents): FdWriter {
  const { maxWrite, eager, retryMs, mainThread } = options;
  /** Durable on the main thread: a lone record may be written at once (see the top of this file). */
  const loneAtOnce = eager && mainThread;
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
  /** Lines appended since the last end of a turn, written at once or not. */
  let turnLines = 0;
  /** The last turn held at most one line: a record appended alone now may be written at once. */
  let quiet = false;

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
    const waiters = chunk.waiters;
    if (waiters !== undefined) {
      chunk.waiters = undefined;
      release(waiters, undefined);
    }
  };

  const retry = (): void => {
    retryTimer = undefined;
    writeNext();
  };

  /** A write failed: a full non-blocking pipe (EAGAIN) is tried again shortly; any other error is reported once and retried after `retryMs`. */
  const failed = (chunk: Chunk, err: NodeJS.ErrnoException): void => {
    if (err.code === 'EAGAIN') {
      retryTimer = setTimeout(retry, FULL_PIPE_RETRY_MS);
      return;
    }
    chunk.rest ??= Buffer.from(chunk.text);
    if (!failing) {
      failing = true;
      events.onError(err);
    }
    retryTimer ??= setTimeout(retry, retryMs).unref();
  };

  /** `n` of the chunk's `total` remaining bytes were written: keeps the rest, or releases the chunk's waiters. */
  const wrote = (chunk: Chunk, n: number, total: number): void => {
    failing = false;
    if (n < total) chunk.rest = (chunk.rest ?? Buffer.from(chunk.text)).subarray(n);
    else done(chunk);
  };

  /** The main-thread path: every pending chunk, in order, until none is left or one cannot be written now. */
  const writeHere = (): void => {
    for (let chunk = next(); chunk !== undefined; chunk = next()) {
      const rest = chunk.rest;
      const total = rest ? rest.length : chunk.bytes;
      let n: number;
      try {
        n = rest ? writeSync(fd, rest, 0, total, null) : writeSync(fd, chunk.text, null, 'utf8');
      } catch (err) {
        failed(chunk, err as NodeJS.ErrnoException);
        return;
      }
      // Nothing taken and no error: wait as for a full pipe rather than spin.
      if (n === 0 && total > 0) {
        retryTimer = setTimeout(retry, FULL_PIPE_RETRY_MS);
        return;
      }
      wrote(chunk, n, total);
    }
    settleIdle();
  };

  /** The thread-pool path: one `fs.write` in flight, the next started from its callback. */
  const writeNext = (): void => {
    scheduled = false;
    if (writing || stopped) return;
    if (mainThread) {
      writeHere();
      return;
    }
    const chunk = next();
    if (!chunk) {
      settleIdle();
      return;
    }
    writing = true;
    const after = (err: NodeJS.ErrnoException | null, n: number, total: number): void => {
      writing = false;
      if (err) {
        failed(chunk, err);
        return;
      }
      wrote(chunk, n, total);
      writeNext();
    };
    if (chunk.rest) {
      const rest = chunk.rest;
      fsWrite(fd, rest, 0, rest.length, null, (err, n) => after(err, n, rest.length));
    } else {
      fsWrite(fd, chunk.text, null, 'utf8', (err, n) => after(err, n, chunk.bytes));
    }
  };

  /** The end of a turn (the check phase): its grouped lines are written, and whether it was quiet noted. */
  const endTurn = (): void => {
    quiet = turnLines <= 1;
    turnLines = 0;
    writeNext();
  };

  const schedule = (): void => {
    if (scheduled || writing || stopped || retryTimer) return;
    scheduled = true;
    setImmediate(endTurn);
  };

  /**
   * Writes a lone record now when it may (see the top of this file): how many of its bytes were
   * written, or -1 when it was not tried or nothing was taken (the end of the turn then writes it,
   * and reports a failure as every write's). The rest of the turn is grouped behind it.
   */
  const writeLone = (line: string, bytes: number): number => {
    // A line already this turn (a lone one whose turn end is not marked yet included): grouped.
    if (!loneAtOnce || !quiet || turnLines > 0 || scheduled || stopped || retryTimer !== undefined || pendingBytes > 0) return -1;
    let n: number;
    try {
      n = writeSync(fd, line, null, 'utf8');
    } catch {
      // Nothing was written: the end of the turn tries again and reports a failure as for any write.
      return -1;
    }
    if (n === bytes) turnLines++;
    return n > 0 ? n : -1;
  };

  /**
   * A lone record's waiter, on the next tick: called first, then the end of the turn marked (see the
   * top of this file), so that an immediate the waiter queues (undici's write of the request it
   * dispatches) runs before it in the check phase.
   */
  const loneWritten = (done: WriteDone): void => {
    try {
      done(undefined);
    } finally {
      schedule();
    }
  };

  /** Adds a line to the open chunk (a new one when it would pass `maxWrite`) and returns that chunk. */
  const add = (line: string, bytes: number, record: boolean): Chunk => {
    if (open.bytes > 0 && open.bytes + bytes > maxWrite) {
      full.push(open);
      open = newChunk();
    }
    const chunk = open;
    chunk.text += line;
    chunk.bytes += bytes;
    pendingBytes += bytes;
    turnLines++;
    if (record) {
      chunk.records++;
      pendingRecords++;
    }
    if (eager) schedule();
    return chunk;
  };

  return {
    append(line, bytes, record, wait) {
      const chunk = add(line, bytes, record);
      if (!wait) return undefined;
      chunk.promise ??= new Promise<void>((resolve, reject) => {
        chunk.resolve = resolve;
        chunk.reject = reject;
      });
      return chunk.promise;
    },
    appendThen(line, bytes, done) {
      const lone = writeLone(line, bytes);
      if (lone === bytes) {
        events.onWritten(1);
        process.nextTick(loneWritten, done);
        return;
      }
      const chunk = add(line, bytes, true);
      if (lone > 0) {
        // Part of a lone record was taken: the chunk (this line alone) goes on from there, and is
        // closed to later lines of the turn, since its rest holds this line's bytes only.
        chunk.rest = Buffer.from(line).subarray(lone);
        full.push(open);
        open = newChunk();
      }
      if (chunk.waiters === undefined) chunk.waiters = [done];
      else chunk.waiters.push(done);
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
        const waiters = chunk.waiters;
        chunk.waiters = undefined;
        if (waiters !== undefined) release(waiters, err);
      }
    },
    stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
    },
  };
}
