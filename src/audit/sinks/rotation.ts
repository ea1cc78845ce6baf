// The file sink with rotation: the file at `path` is always the one being written; when it reaches
// `maxBytes`, or has been open `intervalMs`, it is renamed `<path>.<NNNNNN>` (the next number; a
// rotated file is never renamed again) and a new file is opened at `path`. The hash chain simply
// carries on in the new file, so the rotated files and the current one, oldest first, are one
// trail that `audit verify` checks as a whole. `reopen()` (SIGHUP) closes the file and opens `path`
// again without renaming: what logrotate's `create` style needs after it renamed the file. It also
// reopens by itself, within `watchMs`, a file that was deleted while open (whatever is written to
// it is lost) and, after a file could not be opened (a folder made read-only, a symbolic link put
// at the path), tries again at that pace until it can.
import { existsSync, renameSync, statSync } from 'node:fs';
import { rotatedFiles, rotatedName } from '../rotated-set.js';
import type { SealedRecord } from '../chain.js';
import { AuditError } from '../errors.js';
import { createFileSink, type StreamSinkOptions } from './stream.js';
import { callWhenWritten, type RecordSink, type SinkStats } from './types.js';

export interface RotationOptions {
  /** Rotate once the file holds at least this many bytes (the record that crosses it stays in the old file). */
  readonly maxBytes?: number;
  /** Rotate a non-empty file once it has been open this long, in ms. */
  readonly intervalMs?: number;
  readonly now?: () => number;
  /** Told when a switch fails (a file that cannot be renamed or opened); the sink refuses while it has no file. */
  readonly onError?: (err: unknown) => void;
  /** Told the name a file was rotated to, once the new file is open. */
  readonly onRotate?: (rotatedTo: string) => void;
  /** How often to check that the file is still linked, or to retry opening it, in ms (default 1000). */
  readonly watchMs?: number;
}

export interface RotatingFileSink extends RecordSink {
  /** Closes the file (after writing what it holds) and opens `path` again (SIGHUP, logrotate `create`). */
  reopen(): Promise<void>;
  /** Renames the file to the next rotated name and opens a new one (resolves when done). */
  rotate(): Promise<void>;
  /** Files rotated by this sink so far. */
  readonly rotations: number;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

interface Waiting {
  readonly record: SealedRecord;
  readonly resolve?: () => void;
  readonly reject?: (err: unknown) => void;
}

/**
 * Creates the file sink at `path`, rotating as `rotation` says (neither limit: it only reopens on
 * request). Records that arrive while the file is being switched wait, in order, for the new one.
 */
export function createRotatingFileSink(path: string, options: StreamSinkOptions & RotationOptions = {}): RotatingFileSink {
  const now = options.now ?? Date.now;
  const maxBytes = options.maxBytes ?? Infinity;
  const intervalMs = options.intervalMs ?? 0;
  let current = createFileSink(path, options);
  let bytes = sizeOf(path);
  let openedAt = now();
  let next = (rotatedFiles(path).at(-1)?.number ?? 0) + 1;
  let rotations = 0;
  /** Set while the file is being switched; writes queue behind it. */
  let switching: Promise<void> | undefined;
  /** Records that arrived while the file was being switched, in order: written once it is open. */
  const waiting: Waiting[] = [];
  /** Set when the new file could not be opened: the sink refuses until a later switch succeeds. */
  let broken: unknown;
  let closed = false;
  /** Counters of the files already closed, added to the current file's. */
  let past = { written: 0, dropped: 0, failures: 0 };
  /** The audit log's seal (a signed digest), and whether it is being written into the closing file. */
  let seal: (() => void) | undefined;
  let sealing = false;

  const report = (err: unknown): void => options.onError?.(err);
  const fail = (): AuditError => new AuditError('ERR_AUDIT_WRITE_FAILED', `audit sink file: ${path} cannot be opened`, { sink: 'file', cause: broken });

  /** Closes the current file, optionally renames it, and opens `path` again. */
  const switchFile = (rename: boolean): Promise<void> => {
    if (closed) return Promise.resolve();
    const previous = switching ?? Promise.resolve();
    const run = previous.then(async () => {
      let failure: unknown;
      let rotatedTo: string | undefined;
      if (broken === undefined) {
        const old = current;
        // The file ends with a signed seal, so that its last records are proven without the next
        // file. Not when records already wait for the next file: the seal would come before them.
        if (seal && waiting.length === 0 && bytes > 0 && old.accepting()) {
          sealing = true;
          try {
            seal();
          } finally {
            sealing = false;
          }
        }
        // A failing file is closed without what it holds (its waiters were already refused).
        await old.close().catch((err: unknown) => (failure = err));
        const s = old.stats();
        past = { written: past.written + s.written, dropped: past.dropped + s.dropped, failures: past.failures + s.failures };
        if (rename && bytes > 0) {
          try {
            // Never overwrite a rotated file (renameSync would): skip numbers that are taken.
            while (existsSync(rotatedName(path, next))) next++;
            renameSync(path, rotatedName(path, next));
            rotatedTo = rotatedName(path, next);
            next++;
            rotations++;
          } catch (err) {
            // The records carry on in the same file; the next rotation tries again.
            failure ??= err;
          }
        }
      }
      try {
        current = createFileSink(path, options);
        broken = undefined;
      } catch (err) {
        broken = err;
      }
      bytes = sizeOf(path);
      openedAt = now();
      // Synchronously, so that no record written after the switch can overtake them.
      // At most up to maxBytes (one record at least): the rest wait for the next file.
      for (let first = true; waiting.length > 0 && (first || bytes < maxBytes || broken !== undefined); first = false) {
        const w = waiting.shift() as Waiting;
        const pending = writeNow(w.record);
        if (pending) pending.then(w.resolve, w.reject ?? (() => undefined));
        else w.resolve?.();
      }
      if (broken !== undefined) throw broken;
      if (rotatedTo !== undefined) options.onRotate?.(rotatedTo);
      if (failure !== undefined) throw failure;
    });
    const settled = run.finally(() => {
      if (switching !== settled) return;
      switching = undefined;
      // The records that waited may have filled the new file already.
      if (bytes >= maxBytes || waiting.length > 0) void switchFile(true).catch(report);
    });
    switching = settled;
    return settled;
  };

  const due = (): boolean => bytes >= maxBytes || (intervalMs > 0 && bytes > 0 && now() - openedAt >= intervalMs);
  const timer = intervalMs > 0 ? setInterval(() => {
    if (switching === undefined && due()) void switchFile(true).catch(report);
  }, Math.min(intervalMs, 1000)).unref() : undefined;
  // A deleted file takes records no one will read; a file that could not be opened refuses them.
  const watch = setInterval(() => {
    if (switching !== undefined || closed) return;
    if (broken === undefined && current.linked()) return;
    if (broken === undefined) report(new AuditError('ERR_AUDIT_WRITE_FAILED', `audit sink file: ${path} was deleted while open; opening a new file there`, { sink: 'file' }));
    void switchFile(false).catch(report);
  }, options.watchMs ?? 1000).unref();

  /** Counts a record handed to the current file, and starts a rotation once the file is full. */
  const added = (record: SealedRecord): void => {
    bytes += record.bytes;
    if (bytes >= maxBytes && switching === undefined) void switchFile(true).catch(report);
  };

  const writeNow = (record: SealedRecord): Promise<void> | undefined => {
    if (broken !== undefined) return Promise.reject(fail());
    const pending = current.write(record);
    added(record);
    return pending;
  };

  /** Hands a record to the current file, or keeps it, in order, for the next one while the file is switched. */
  const write = (record: SealedRecord): Promise<void> | undefined => {
    if (closed) throw new AuditError('ERR_AUDIT_CLOSED', 'audit sink file is closed', { sink: 'file' });
    if (switching === undefined || sealing) return writeNow(record);
    if (options.durability === 'batched') {
      waiting.push({ record });
      return undefined;
    }
    return new Promise<void>((resolve, reject) => waiting.push({ record, resolve, reject }));
  };

  return {
    name: 'file',
    whenFull: options.whenFull ?? 'refuse',
    accepting: () => broken === undefined && (switching !== undefined || current.accepting()),
    write,
    writeThen(record, done) {
      // The file open and no switch under way (the usual case): the file's own callback form, with
      // no Promise (and a lone record written at once). Otherwise as `write`, its promise handed on.
      if (closed || broken !== undefined || (switching !== undefined && !sealing)) return callWhenWritten(write(record), done, 'file');
      const waits = current.writeThen(record, done);
      added(record);
      return waits;
    },
    async flush() {
      while (switching) await switching.catch(() => undefined);
      if (broken !== undefined) throw fail();
      await current.flush();
    },
    async close() {
      if (closed) return;
      while (switching) await switching.catch(() => undefined);
      closed = true;
      if (timer) clearInterval(timer);
      clearInterval(watch);
      if (broken === undefined) await current.close();
    },
    bindSeal(given) {
      seal = given;
    },
    reopen: () => switchFile(false),
    rotate: () => switchFile(true),
    get rotations() {
      return rotations;
    },
    stats(): SinkStats {
      const s = current.stats();
      return {
        written: past.written + s.written,
        dropped: past.dropped + s.dropped,
        // Records waiting for the next file are not written either.
        buffered: s.buffered + waiting.length,
        failures: past.failures + s.failures,
        healthy: broken === undefined && s.healthy,
      };
    },
  };
}
