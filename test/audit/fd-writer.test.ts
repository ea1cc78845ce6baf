// The group-commit writer on real descriptors: a file, /dev/null, named pipes opened blocking and
// non-blocking. Where a write cannot block it happens on the main thread (shown with every thread
// of libuv's pool held busy, for the writer and for the durable file sink); a full non-blocking pipe is waited out, a broken one reported once
// and written to again once it has a reader; a blocking pipe stays off the main thread. Every test
// checks the bytes that arrived: each line once, whole, in order.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, open, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../src/audit/log.js';
import { describeDescriptor } from '../../src/audit/sinks/descriptor.js';
import { createFdWriter, type FdWriter } from '../../src/audit/sinks/fd-writer.js';
import { createFileSink } from '../../src/audit/sinks/stream.js';
import { decisionEvent, tempDir, type TempDir } from './support.js';

let dir: TempDir;
let fifos = 0;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.remove());

/** A new named pipe in the test folder. */
function fifo(): string {
  const path = dir.file(`pipe-${++fifos}`);
  execFileSync('mkfifo', [path]);
  return path;
}

/** Line i, `size` bytes long with its newline. */
const line = (i: number, size = 100): string => `${`line ${i} `.padEnd(size - 1, '.')}\n`;

interface Seen {
  errors: unknown[];
  written: number;
}

/** A writer on `fd` whose events are counted, rejecting its waiters on a failure as the sinks do. */
function writerOn(fd: number, maxWrite: number, retryMs = 20): { writer: FdWriter; seen: Seen } {
  const seen: Seen = { errors: [], written: 0 };
  const writer = createFdWriter(
    fd,
    { maxWrite, eager: true, retryMs, mainThread: describeDescriptor(fd).neverBlocks },
    {
      onError(err) {
        seen.errors.push(err);
        writer.rejectAll(err);
      },
      onWritten(records) {
        seen.written += records;
      },
    },
  );
  return { writer, seen };
}

/** Reads what a non-blocking descriptor holds now (nothing when empty). */
function readAvailable(fd: number): string {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads `fd` (non-blocking) until `done` settles, yielding to the event loop between reads; returns all it read. */
async function readUntil(fd: number, done: Promise<unknown>): Promise<string> {
  let settled = false;
  void done.finally(() => (settled = true)).catch(() => undefined);
  let text = '';
  while (!settled) {
    text += readAvailable(fd);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return text + readAvailable(fd);
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * After line 1 failed on the pipe at `path` (no reader): appends line 2, opens a reader and checks
 * that the kept line 1 arrives first, then line 2, each whole, and that line 1's waiter was `told`
 * (its failure) once and never again. Returns the reader, to be closed.
 */
async function readerBackAfterLine1(path: string, writer: FdWriter, told: readonly unknown[]): Promise<number> {
  const later = writer.append(line(2), Buffer.byteLength(line(2)), true, true) as Promise<void>;
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  expect(await readUntil(reader, later)).toBe(line(1) + line(2));
  expect(told).toHaveLength(1);
  return reader;
}

/**
 * Appends 256 KiB (four times what a pipe holds by default) to a pipe nobody reads yet, lets `pause`
 * pass, checks the last line is still waiting, then reads until every waiter is released and
 * checks what arrived: every line once, whole, in order, and no failure reported.
 */
async function overfillThenDrain(path: string, writeFlags: number, pause: () => Promise<void>): Promise<void> {
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const fd = openSync(path, constants.O_WRONLY | writeFlags);
  const { writer, seen } = writerOn(fd, 4096);
  try {
    const lines = Array.from({ length: 1024 }, (_, i) => line(i, 256));
    const waits = lines.map((l) => writer.append(l, Buffer.byteLength(l), true, true) as Promise<void>);
    let last = false;
    void waits.at(-1)?.then(() => (last = true));
    await pause();
    expect(last).toBe(false);
    expect(writer.pendingBytes).toBeGreaterThan(0);
    const text = await readUntil(reader, Promise.all(waits));
    expect(text).toBe(lines.join(''));
    expect(seen).toEqual({ errors: [], written: 1024 });
  } finally {
    closeSync(fd);
    closeSync(reader);
  }
}

/**
 * Parks every thread of libuv's pool in open() of a pipe nobody writes to (an `fs.write` queued
 * behind them cannot start), lets two turns of the event loop pass, and says whether every one of
 * `waits` was released by then; the pool is freed before returning.
 */
async function whileThePoolIsBusy(waits: readonly Promise<void>[]): Promise<boolean> {
  const park = fifo();
  const threads = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
  const parked = Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => open(park, 'r', (err, fd) => (err ? reject(err) : resolve(fd)))));
  let released = false;
  void Promise.all(waits).then(() => (released = true));
  await turn();
  await turn();
  const answer = released;
  // Give the parked opens a writer, then close everything they opened.
  const writer = openSync(park, 'r+');
  for (const opened of await Promise.all(parked)) closeSync(opened);
  closeSync(writer);
  await Promise.all(waits);
  return answer;
}

describe('a descriptor, examined when a sink opens it', () => {
  it('is written on the main thread when it is a regular file or a character device', () => {
    const file = openSync(dir.file('plain.jsonl'), 'a');
    const devNull = openSync('/dev/null', 'w');
    try {
      expect(describeDescriptor(file)).toEqual({ shared: false, neverBlocks: true });
      expect(describeDescriptor(devNull)).toEqual({ shared: false, neverBlocks: true });
    } finally {
      closeSync(file);
      closeSync(devNull);
    }
  });

  it('is a shared stream written on the main thread only when the pipe is in non-blocking mode', () => {
    const path = fifo();
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const nonBlocking = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    const blocking = openSync(path, constants.O_WRONLY);
    try {
      expect(describeDescriptor(nonBlocking)).toEqual({ shared: true, neverBlocks: true });
      expect(describeDescriptor(blocking)).toEqual({ shared: true, neverBlocks: false });
    } finally {
      for (const fd of [reader, nonBlocking, blocking]) closeSync(fd);
    }
  });
});

describe('the group-commit writer', () => {
  it('writes a file on the main thread: records are released while every thread of the pool is busy', async () => {
    const path = dir.file('busy-pool.jsonl');
    const fd = openSync(path, 'a');
    const { writer, seen } = writerOn(fd, 1024 * 1024);
    try {
      const lines = Array.from({ length: 50 }, (_, i) => line(i));
      const released = await whileThePoolIsBusy(lines.map((l) => writer.append(l, Buffer.byteLength(l), true, true) as Promise<void>));
      expect(released).toBe(true);
      expect(readFileSync(path, 'utf8')).toBe(lines.join(''));
      expect(seen).toEqual({ errors: [], written: 50 });
    } finally {
      closeSync(fd);
    }
  });

  it('keeps every line in order across turns and chunks, each waiter released with its own chunk', async () => {
    const path = dir.file('order.jsonl');
    const fd = openSync(path, 'a');
    const { writer, seen } = writerOn(fd, 1000);
    const lines: string[] = [];
    const waits: Promise<void>[] = [];
    for (let t = 0; t < 20; t++) {
      for (let i = 0; i < 25; i++) {
        const l = line(t * 25 + i, 90 + ((t + i) % 7) * 13);
        lines.push(l);
        waits.push(writer.append(l, Buffer.byteLength(l), true, true) as Promise<void>);
      }
      await turn();
    }
    await Promise.all(waits);
    await writer.drained();
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe(lines.join(''));
    expect(seen).toEqual({ errors: [], written: 500 });
    expect(writer.pendingBytes).toBe(0);
  });

  it('waits out a full non-blocking pipe (EAGAIN) without reporting a failure, then writes the rest whole and in order', async () => {
    await overfillThenDrain(fifo(), constants.O_NONBLOCK, async () => {
      await turn();
      await turn();
    });
  });

  it('reports a pipe without a reader once, rejects its waiters, and writes the kept chunk first once a reader is back', async () => {
    const path = fifo();
    const first = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    closeSync(first);
    const { writer, seen } = writerOn(fd, 4096);
    let reader: number | undefined;
    try {
      const lost = writer.append(line(1), Buffer.byteLength(line(1)), true, true) as Promise<void>;
      await expect(lost).rejects.toMatchObject({ code: 'EPIPE' });
      // Retried (every 20 ms) and still failing: reported once.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const later = writer.append(line(2), Buffer.byteLength(line(2)), true, true) as Promise<void>;
      reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      const text = await readUntil(reader, later);
      await expect(later).resolves.toBeUndefined();
      expect(text).toBe(line(1) + line(2));
      expect(seen.errors).toHaveLength(1);
      expect(seen.written).toBe(2);
    } finally {
      writer.stop();
      closeSync(fd);
      if (reader !== undefined) closeSync(reader);
    }
  });

  it('calls a callback waiter once, after its line is written, in the same release as the promise waiters of its write', async () => {
    const path = dir.file('callback.jsonl');
    const fd = openSync(path, 'a');
    const { writer, seen } = writerOn(fd, 1024 * 1024);
    const told: string[] = [];
    try {
      writer.appendThen(line(1), Buffer.byteLength(line(1)), (err) => told.push(`1:${String(err)}:${readFileSync(path, 'utf8')}`));
      const promised = writer.append(line(2), Buffer.byteLength(line(2)), true, true) as Promise<void>;
      writer.appendThen(line(3), Buffer.byteLength(line(3)), (err) => told.push(`3:${String(err)}`));
      expect(told).toEqual([]);
      await promised;
      expect(told).toEqual([`1:undefined:${line(1)}${line(2)}${line(3)}`, '3:undefined']);
      expect(seen).toEqual({ errors: [], written: 3 });
    } finally {
      closeSync(fd);
    }
  });

  it('hands the error of a failed write to its callback waiters once, and never calls them again when the kept line is written later', async () => {
    const path = fifo();
    const first = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    closeSync(first);
    const { writer } = writerOn(fd, 4096);
    let reader: number | undefined;
    const told: unknown[] = [];
    try {
      writer.appendThen(line(1), Buffer.byteLength(line(1)), (err) => told.push(err));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(told).toEqual([expect.objectContaining({ code: 'EPIPE' })]);
      reader = await readerBackAfterLine1(path, writer, told);
    } finally {
      writer.stop();
      closeSync(fd);
      if (reader !== undefined) closeSync(reader);
    }
  });

  it('hands the error of rejectAll to every callback waiter still pending (a closing sink), once', async () => {
    const path = dir.file('rejected.jsonl');
    const fd = openSync(path, 'a');
    // Not eager: nothing is written until kicked, so the waiters are still pending at rejectAll.
    const writer = createFdWriter(fd, { maxWrite: 150, eager: false, retryMs: 20, mainThread: true }, { onError: () => undefined, onWritten: () => undefined });
    const told: unknown[] = [];
    try {
      for (let i = 0; i < 3; i++) writer.appendThen(line(i), Buffer.byteLength(line(i)), (err) => told.push(err));
      const closed = new Error('closed');
      writer.rejectAll(closed);
      expect(told).toEqual([closed, closed, closed]);
      writer.kick();
      await writer.drained();
      expect(told).toHaveLength(3);
    } finally {
      closeSync(fd);
    }
  });

  it('writes a blocking pipe on the thread pool: the event loop runs on while the pipe is full', async () => {
    // A timer fires while the pipe is full: the main thread is not held by the write.
    await overfillThenDrain(fifo(), 0, () => new Promise((resolve) => setTimeout(resolve, 20)));
  });
});

describe('a record that comes alone, one request at a time', () => {
  /** The next tick: where a lone record's waiter is called back. */
  const tick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

  /** A writer on a new file whose last turn held one line (a quiet turn), so that the next record may go alone. */
  async function quietWriter(name: string): Promise<{ writer: FdWriter; seen: Seen; path: string; fd: number }> {
    const path = dir.file(name);
    const fd = openSync(path, 'a');
    const { writer, seen } = writerOn(fd, 1024 * 1024);
    await writer.append(line(0), Buffer.byteLength(line(0)), true, true);
    return { writer, seen, path, fd };
  }

  it('is in the file before appendThen returns, and its waiter is called back on the next tick, before the turn ends', async () => {
    const { writer, seen, path, fd } = await quietWriter('lone.jsonl');
    try {
      let turnEnded = false;
      setImmediate(() => (turnEnded = true));
      const told: { err: unknown; turnEnded: boolean }[] = [];
      writer.appendThen(line(1), Buffer.byteLength(line(1)), (err) => told.push({ err, turnEnded }));
      expect(readFileSync(path, 'utf8')).toBe(line(0) + line(1));
      expect(told).toEqual([]);
      await tick();
      expect(told).toEqual([{ err: undefined, turnEnded: false }]);
      expect(seen).toEqual({ errors: [], written: 2 });
      expect(writer.pendingRecords).toBe(0);
    } finally {
      writer.stop();
      closeSync(fd);
    }
  });

  /** Runs `body` on a quiet writer, then stops the writer and closes its file. */
  async function onQuietWriter(name: string, body: (writer: FdWriter, path: string) => Promise<void>): Promise<void> {
    const { writer, path, fd } = await quietWriter(name);
    try {
      await body(writer, path);
    } finally {
      writer.stop();
      closeSync(fd);
    }
  }

  it('ends its turn only after what its waiter queued for the check phase, so the request it releases goes on first', () =>
    onQuietWriter('lone-turn-end.jsonl', async (writer, path) => {
      // The waiter queues an immediate, as undici does to write the request it was handed. Run
      // before the writer's end of the turn, that immediate is still in the lone record's turn:
      // a record it appends is grouped behind the turn's end, not written alone at once.
      const writtenAtOnce: boolean[] = [];
      await new Promise<void>((resolve) => {
        writer.appendThen(line(1), Buffer.byteLength(line(1)), () =>
          setImmediate(() => {
            writer.appendThen(line(2), Buffer.byteLength(line(2)), () => resolve());
            writtenAtOnce.push(readFileSync(path, 'utf8').includes(line(2)));
          }),
        );
      });
      expect(writtenAtOnce).toEqual([false]);
      expect(readFileSync(path, 'utf8')).toBe(line(0) + line(1) + line(2));
    }));

  it('takes a second record of the same turn into the group while the first, written alone, still waits for its tick', () =>
    onQuietWriter('lone-twice.jsonl', async (writer, path) => {
      const told: string[] = [];
      writer.appendThen(line(1), Buffer.byteLength(line(1)), () => told.push('1'));
      writer.appendThen(line(2), Buffer.byteLength(line(2)), () => told.push('2'));
      expect(readFileSync(path, 'utf8')).toBe(line(0) + line(1));
      await turn();
      expect(told).toEqual(['1', '2']);
      expect(readFileSync(path, 'utf8')).toBe(line(0) + line(1) + line(2));
    }));

  it('goes alone only first: the other lines of its turn are written together, in order, at its end', async () => {
    const { writer, seen, path, fd } = await quietWriter('lone-then-group.jsonl');
    try {
      const told: string[] = [];
      for (let i = 1; i <= 3; i++) writer.appendThen(line(i), Buffer.byteLength(line(i)), () => told.push(`${i}:${readFileSync(path, 'utf8').split('\n').length - 1}`));
      const promised = writer.append(line(4), Buffer.byteLength(line(4)), true, true) as Promise<void>;
      expect(readFileSync(path, 'utf8')).toBe(line(0) + line(1));
      await promised;
      // Line 1 was told with two lines in the file; 2 and 3 once the turn's one write held all five.
      expect(told).toEqual(['1:2', '2:5', '3:5']);
      expect(readFileSync(path, 'utf8')).toBe([0, 1, 2, 3, 4].map((i) => line(i)).join(''));
      expect(seen).toEqual({ errors: [], written: 5 });
    } finally {
      writer.stop();
      closeSync(fd);
    }
  });

  it('is not written at once after a turn that held several lines: under load every turn goes out in one write', async () => {
    const { writer, path, fd } = await quietWriter('busy.jsonl');
    try {
      const busy = [1, 2].map((i) => writer.append(line(i), Buffer.byteLength(line(i)), true, true) as Promise<void>);
      await Promise.all(busy);
      const told: unknown[] = [];
      writer.appendThen(line(3), Buffer.byteLength(line(3)), (err) => told.push(err));
      expect(readFileSync(path, 'utf8')).toBe(line(0) + line(1) + line(2));
      await turn();
      expect(told).toEqual([undefined]);
      expect(readFileSync(path, 'utf8')).toBe([0, 1, 2, 3].map((i) => line(i)).join(''));
      // That turn held one line again: the next record goes alone.
      writer.appendThen(line(4), Buffer.byteLength(line(4)), () => undefined);
      expect(readFileSync(path, 'utf8')).toBe([0, 1, 2, 3, 4].map((i) => line(i)).join(''));
    } finally {
      writer.stop();
      closeSync(fd);
    }
  });

  it('writes the rest of a lone line a nearly full pipe took in part, then the later lines of its turn, each waiter told once all its bytes are written', async () => {
    const path = fifo();
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    const { writer, seen } = writerOn(fd, 1024 * 1024);
    try {
      expect(await readUntil(reader, writer.append(line(0), Buffer.byteLength(line(0)), true, true) as Promise<void>)).toBe(line(0));
      // The pipe (64 KiB) left with 100 bytes free in its last page: Linux puts the part of a write
      // past its whole pages there, so a lone line of 8 KiB and 50 bytes is taken in part (50 bytes).
      const filler = 'f'.repeat(65536 - 100);
      expect(writeSync(fd, filler)).toBe(filler.length);
      const told: string[] = [];
      const lone = line(1, 8192 + 50);
      writer.appendThen(lone, Buffer.byteLength(lone), (err) => told.push(`1:${String(err)}`));
      writer.appendThen(line(2), Buffer.byteLength(line(2)), (err) => told.push(`2:${String(err)}`));
      const later = writer.append(line(3), Buffer.byteLength(line(3)), true, true) as Promise<void>;
      expect(await readUntil(reader, later)).toBe(filler + lone + line(2) + line(3));
      expect(told).toEqual(['1:undefined', '2:undefined']);
      expect(seen).toEqual({ errors: [], written: 4 });
    } finally {
      writer.stop();
      closeSync(fd);
      closeSync(reader);
    }
  });

  it('hands the error of its failed write to its waiter once, as at the end of a turn, and writes it first once it can', async () => {
    const path = fifo();
    let reader: number | undefined = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    const { writer, seen } = writerOn(fd, 4096);
    const told: unknown[] = [];
    try {
      expect(await readUntil(reader, writer.append(line(0), Buffer.byteLength(line(0)), true, true) as Promise<void>)).toBe(line(0));
      closeSync(reader);
      reader = undefined;
      writer.appendThen(line(1), Buffer.byteLength(line(1)), (err) => told.push(err));
      await tick();
      expect(told).toEqual([]);
      await turn();
      expect(told).toEqual([expect.objectContaining({ code: 'EPIPE' })]);
      expect(seen.errors).toHaveLength(1);
      reader = await readerBackAfterLine1(path, writer, told);
    } finally {
      writer.stop();
      closeSync(fd);
      if (reader !== undefined) closeSync(reader);
    }
  });
});

describe('the durable file sink', () => {
  it('acknowledges records within the turn after they were made, with every thread of the pool busy', async () => {
    const path = dir.file('sink-busy-pool.jsonl');
    const log = createAuditLog({ instanceId: 'gw-sync', sinks: [createFileSink(path)] });
    const released = await whileThePoolIsBusy(Array.from({ length: 20 }, (_, i) => log.record(decisionEvent(i))));
    await log.close();
    expect(released).toBe(true);
    const records = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; requestId?: string });
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(records.slice(1).map((r) => r.requestId)).toEqual(Array.from({ length: 20 }, (_, i) => `req-${i}`));
  });
});
