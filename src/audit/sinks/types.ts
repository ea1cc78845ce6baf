// What every audit sink offers the audit log, and the note a sink writes when it dropped records.
import { canonicalJson } from '../canonical.js';
import { AuditError } from '../errors.js';
import type { SealedRecord } from '../chain.js';
import type { GapNote } from '../schema.js';
import { SCHEMA_VERSION } from '../schema.js';

/** What a sink does when its bound is reached or it has failed: drop (and count) or refuse the record. */
export type WhenFull = 'drop' | 'refuse';

export interface SinkStats {
  /** Records the destination has taken (the kernel for fd sinks, Redis for the stream sink). */
  readonly written: number;
  /** Records given up because the bound was reached (only with `whenFull: 'drop'`). */
  readonly dropped: number;
  /** Records accepted but not yet written. */
  readonly buffered: number;
  /** Failed writes (each retried). */
  readonly failures: number;
  /** False from a failed write until the next successful one. */
  readonly healthy: boolean;
}

/** Told once whether a record was written: `undefined` when it was, the error when it cannot be. */
export type WriteDone = (err: unknown) => void;

/**
 * `writeThen` for what a sink's `write` returned: true when `done` will be called, once `pending`
 * settles (with the failure of sink `name` when it rejects without a reason).
 */
export function callWhenWritten(pending: Promise<void> | undefined, done: WriteDone, name: string): boolean {
  if (pending === undefined) return false;
  pending.then(
    () => done(undefined),
    (err: unknown) => done(err ?? new AuditError('ERR_AUDIT_WRITE_FAILED', `audit sink ${name}: write failed`, { sink: name })),
  );
  return true;
}

/** One destination of the trail. The audit log writes every sealed record to every sink, in order. */
export interface RecordSink {
  readonly name: string;
  readonly whenFull: WhenFull;
  /** Whether the sink can take a record now; the log refuses events while a `refuse` sink says no. */
  accepting(): boolean;
  /**
   * Takes a record. Returns a promise when the sink is durable: it settles once the record is
   * handed to the destination (rejects if that fails); undefined when the sink is asynchronous.
   */
  write(record: SealedRecord): Promise<void> | undefined;
  /**
   * `write` without a Promise, for a caller that waits on every record (the gateway's requests):
   * true when `done` will be called once, later, as `write`'s promise would settle; false when
   * nothing is to be waited for (`write` would return undefined) and `done` is never called.
   * Throws where `write` throws. A sink without it is waited on through `write`.
   */
  writeThen?(record: SealedRecord, done: WriteDone): boolean;
  /** Resolves when everything accepted so far is written (rejects if the sink is failing). */
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): SinkStats;
  /**
   * Given once by the audit log, for a sink that ends files of its own (rotation): `seal()` appends
   * a signed digest to the chain and hands it to every sink at once, so that a file can end with it.
   */
  bindSeal?(seal: () => void): void;
}

/** Keeps the ranges of dropped records so a sink can say so in the trail once it can write again. */
export interface GapTracker {
  drop(record: SealedRecord): void;
  /** The gap notes (lines) not yet written, oldest first; empties the list. */
  take(): string[];
  readonly pending: boolean;
}

/** Creates the tracker for one sink. */
export function createGapTracker(sink: string, now: () => number): GapTracker {
  let open: { instanceId: string; fromSeq: number; toSeq: number } | undefined;
  const finished: string[] = [];
  const finish = (): void => {
    if (!open) return;
    const note: GapNote = {
      kind: 'audit.gap',
      schemaVersion: SCHEMA_VERSION,
      time: new Date(now()).toISOString(),
      instanceId: open.instanceId,
      sink,
      fromSeq: open.fromSeq,
      toSeq: open.toSeq,
      count: open.toSeq - open.fromSeq + 1,
    };
    finished.push(`${canonicalJson({ ...note })}\n`);
    open = undefined;
  };
  return {
    drop(record) {
      if (open && open.instanceId === record.instanceId && open.toSeq + 1 === record.seq) {
        open.toSeq = record.seq;
        return;
      }
      finish();
      open = { instanceId: record.instanceId, fromSeq: record.seq, toSeq: record.seq };
    },
    take() {
      finish();
      return finished.splice(0, finished.length);
    },
    get pending() {
      return open !== undefined || finished.length > 0;
    },
  };
}
