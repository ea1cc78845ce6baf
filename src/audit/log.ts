// The audit log the gateway calls: one `record` per decision. It builds the event from named
// fields, seals it into this instance's hash chain, hands it to every sink in order, and every
// `digestEvery` records (or ms) writes a digest record signed with the instance's key. An event
// that must follow a record whose write failed waits in a bounded queue (`recordWhenAccepting`)
// until every refusing sink accepts records again.
import type { BuildDeps } from './build.js';
import { createChain, type SealedRecord, type UnsealedRecord } from './chain.js';
import { createEventEncoder } from './encode.js';
import { fitEncoder } from './fit.js';
import { AuditError } from './errors.js';
import { createIdSource, createIsoClock } from './ids.js';
import type { AuditEventInput, ChainHead, ChainKind, DigestInfo, PublishedKey } from './schema.js';
import { SCHEMA_VERSION } from './schema.js';
import type { AuditSigner } from './signing.js';
import { createStdoutSink } from './sinks/stream.js';
import { createQueue } from './sinks/queue.js';
import { callWhenWritten, type RecordSink, type SinkStats, type WriteDone } from './sinks/types.js';

export interface AuditLogDeps {
  /** Where records go, each in order (default: stdout, durable). */
  readonly sinks?: readonly RecordSink[];
  /** Names this writer's chain; unique per process run (e.g. pod name + start time + random). */
  readonly instanceId: string;
  /** Signs digest records; without it the chain is written but nothing is signed. */
  readonly signer?: AuditSigner;
  readonly now?: () => number;
  readonly randomId?: () => string;
  /** Write a signed digest after this many records (default 1000) or ms (default 60,000; 0 = never by time). */
  readonly digestEvery?: { readonly records?: number; readonly ms?: number };
  /**
   * Told about failed writes of `drop` sinks, of digest records and of follow-ups (which never fail
   * a request), and about follow-ups still waiting when the log closes.
   */
  readonly onSinkError?: (sink: string, err: unknown) => void;
  /**
   * Events of `recordWhenAccepting`: at most `max` wait (default 10,000; past it they are counted as
   * dropped), and while some wait the refusing sinks are asked every `retryMs` (default 100) whether
   * they accept records again.
   */
  readonly followUps?: { readonly max?: number; readonly retryMs?: number };
}

/** Events waiting for the refusing sinks (`recordWhenAccepting`), and those given up at the bound or at close. */
export interface FollowUpStats {
  readonly queued: number;
  readonly dropped: number;
}

export interface AuditLogStats {
  /** Events accepted through `record`. */
  readonly recorded: number;
  /** Events refused because a `refuse` sink could not take them. */
  readonly refused: number;
  readonly digests: number;
  readonly followUps: FollowUpStats;
  readonly lastSeq: number;
  /** How far every sink has written the chain, to publish outside the trail. */
  readonly head: ChainHead;
  readonly sinks: Readonly<Record<string, SinkStats>>;
}

export interface AuditLog {
  readonly instanceId: string;
  /** The key digests are signed with, to publish for `audit verify` (undefined without a signer). */
  readonly publicKey: PublishedKey | undefined;
  /**
   * Records one event. The promise settles once every durable sink has handed the record to the
   * kernel; it rejects with an `AuditError` (`ERR_AUDIT_UNAVAILABLE`, `ERR_AUDIT_WRITE_FAILED`,
   * `ERR_AUDIT_CLOSED`) when the record could not be kept and the request must be refused.
   */
  record(event: AuditEventInput): Promise<void>;
  /**
   * `record` without a Promise, for a caller that waits on every record (the gateway's requests).
   * True when `done` will be called once, later: with no error once every durable sink has handed
   * the record to the kernel, or with the error `record`'s promise would reject with. False when
   * no sink makes it wait (the record is taken; `done` is never called). Throws the `AuditError`
   * of a record refused before it was sealed (`ERR_AUDIT_UNAVAILABLE`, `ERR_AUDIT_CLOSED`), and
   * the encoder's error for an event it refuses.
   */
  recordThen(event: AuditEventInput, done: WriteDone): boolean;
  /**
   * Records an event once every refusing sink accepts records again (at once if they do now): what
   * follows a record whose write failed (`ERR_AUDIT_WRITE_FAILED`: sealed into the chain and still
   * buffered, written when the sink can write again). Never refuses and never waits: past the
   * bound, or when the log closes first, the event is counted as dropped (`stats().followUps`, the
   * next digest's `dropped.followUps`).
   */
  recordWhenAccepting(event: AuditEventInput): void;
  /** Resolves when every sink has written everything accepted so far. */
  flush(): Promise<void>;
  /** Writes the final signed digest, flushes and closes every sink. */
  close(): Promise<void>;
  stats(): AuditLogStats;
}

const RESOLVED = Promise.resolve();

/**
 * Waits on several sinks for one record: `done` once all have written it, or at the first
 * failure of a refusing sink; a `drop` sink's failure is reported and counts as written.
 */
class SinkJoin {
  /** Sinks still to answer, plus one held by the dispatcher until every sink has had the record. */
  private remaining = 1;
  private settled = false;
  constructor(
    private readonly done: WriteDone,
    private readonly report: (sink: string, err: unknown) => void,
  ) {}

  /** The callback for one more sink to wait on. */
  waitFor(sink: RecordSink): WriteDone {
    this.remaining++;
    return sink.whenFull === 'drop' ? (err) => this.dropped(sink.name, err) : (err) => this.answer(err);
  }

  /** A sink that was waited for turned out not to make anyone wait. */
  skip(): void {
    this.remaining--;
  }

  /** True when some sink makes the caller wait (and the dispatcher's hold is released). */
  release(): boolean {
    if (this.remaining === 1) return false;
    this.answer(undefined);
    return true;
  }

  private dropped(sink: string, err: unknown): void {
    if (err !== undefined) this.report(sink, err);
    this.answer(undefined);
  }

  private answer(err: unknown): void {
    if (this.settled) return;
    if (err !== undefined) {
      this.settled = true;
      this.done(err);
    } else if (--this.remaining === 0) {
      this.settled = true;
      this.done(undefined);
    }
  }
}

/**
 * Writes `record` to `sink` with a callback, through `write`'s promise for a sink without
 * `writeThen`; true when `done` will be called.
 */
function writeThen(sink: RecordSink, record: SealedRecord, done: WriteDone): boolean {
  if (sink.writeThen !== undefined) return sink.writeThen(record, done);
  return callWhenWritten(sink.write(record), done, sink.name);
}

/** The key of `digest.dropped` that counts follow-ups given up (never a sink's name). */
const FOLLOW_UPS_DROPPED_KEY = 'followUps';

/** Creates the audit log and writes the chain's first record (`audit.start`, with the public key). */
export function createAuditLog(deps: AuditLogDeps): AuditLog {
  const sinks = deps.sinks ?? [createStdoutSink()];
  const refusing = sinks.filter((s) => s.whenFull === 'refuse');
  const build: BuildDeps = { now: deps.now ?? Date.now, randomId: deps.randomId ?? createIdSource(), isoTime: createIsoClock() };
  const signer = deps.signer;
  const digestRecords = deps.digestEvery?.records ?? 1000;
  const digestMs = deps.digestEvery?.ms ?? 60_000;
  const chain = createChain(deps.instanceId);
  const encode = fitEncoder(createEventEncoder(deps.instanceId, build));
  let recorded = 0;
  let refused = 0;
  let digests = 0;
  let lastDigestSeq = 0;
  let closing = false;
  const followUps = createQueue<AuditEventInput>();
  const maxFollowUps = deps.followUps?.max ?? 10_000;
  const followUpRetryMs = deps.followUps?.retryMs ?? 100;
  let followUpsDropped = 0;
  let followUpTimer: NodeJS.Timeout | undefined;

  const reportError = (sink: string) => (err: unknown) => deps.onSinkError?.(sink, err);
  /** Hands a record to every sink and waits for the durable ones; a `drop` sink's failure never fails the caller. */
  const dispatch = (sealed: SealedRecord, background: boolean): Promise<void> => {
    // One sink to wait for (the usual case) is returned as it is: no array, no Promise.all.
    let first: Promise<void> | undefined;
    let more: Promise<void>[] | undefined;
    for (const sink of sinks) {
      const pending = sink.write(sealed);
      if (pending === undefined) continue;
      if (background) {
        pending.catch(reportError(sink.name));
        continue;
      }
      const wait = sink.whenFull === 'drop' ? pending.catch(reportError(sink.name)) : pending;
      if (first === undefined) first = wait;
      else (more ??= [first]).push(wait);
    }
    if (more !== undefined) return Promise.all(more).then(() => undefined);
    return first ?? RESOLVED;
  };
  // The usual trail, one refusing sink that takes callbacks, is handed `done` as it is.
  const onlySink = sinks.length === 1 && sinks[0]?.whenFull === 'refuse' && sinks[0].writeThen !== undefined ? sinks[0] : undefined;
  /** `dispatch` with a callback (see `recordThen`): true when `done` will be called. */
  const dispatchThen = (sealed: SealedRecord, done: WriteDone): boolean => {
    if (onlySink !== undefined) return writeThen(onlySink, sealed, done);
    const join = new SinkJoin(done, (sink, err) => deps.onSinkError?.(sink, err));
    for (const sink of sinks) if (!writeThen(sink, sealed, join.waitFor(sink))) join.skip();
    return join.release();
  };
  /** A chain record (start or digest), members in canonical order (see chain.ts). */
  const chainRecord = (kind: ChainKind, reason: string, extra: { key?: PublishedKey; digest?: DigestInfo }): UnsealedRecord => ({
    ...(extra.digest ? { digest: extra.digest } : {}),
    eventId: build.randomId(),
    instanceId: undefined,
    ...(extra.key ? { key: extra.key } : {}),
    kind,
    prev: undefined,
    reason,
    schemaVersion: SCHEMA_VERSION,
    seq: undefined,
    ...(kind === 'audit.digest' ? { sig: undefined } : {}),
    time: build.isoTime?.(build.now()) ?? new Date(build.now()).toISOString(),
  });
  const sinkNames = [...new Set(sinks.map((s) => s.name))].sort();
  const withFollowUps = [...sinkNames, FOLLOW_UPS_DROPPED_KEY].sort();
  /**
   * Drops per sink name, and follow-ups given up once there are any, in sorted key order (the
   * digest is serialised as built).
   */
  const droppedBySink = (): Record<string, number> => {
    const dropped: Record<string, number> = {};
    for (const name of followUpsDropped > 0 ? withFollowUps : sinkNames) dropped[name] = 0;
    for (const sink of sinks) dropped[sink.name] = (dropped[sink.name] ?? 0) + sink.stats().dropped;
    if (followUpsDropped > 0) dropped[FOLLOW_UPS_DROPPED_KEY] = followUpsDropped;
    return dropped;
  };
  /** A signed digest of the records since the last one; `file_end` seals a file a sink is about to close. */
  const writeDigest = (final: boolean, reason: 'digest' | 'file_end' = 'digest'): Promise<void> => {
    if (!signer || (!final && chain.lastSeq === lastDigestSeq)) return RESOLVED;
    const digest = {
      alg: signer.key.alg,
      dropped: droppedBySink(),
      final,
      fromSeq: lastDigestSeq + 1,
      kid: signer.key.kid,
      toSeq: chain.lastSeq,
    };
    const sealed = chain.sealSigned(chainRecord('audit.digest', final ? 'chain_end' : reason, { digest }), signer);
    lastDigestSeq = sealed.seq;
    digests++;
    return dispatch(sealed, true);
  };

  void dispatch(chain.seal(chainRecord('audit.start', 'chain_start', signer ? { key: signer.key } : {})), true);
  // Nothing may follow the final digest: a file closed after it gets no seal of its own.
  for (const sink of sinks) sink.bindSeal?.(() => void (closing ? undefined : writeDigest(false, 'file_end')));
  const timer = digestMs > 0 && signer ? setInterval(() => void writeDigest(false), digestMs).unref() : undefined;

  /**
   * Seals `event` into the chain, hands it to every sink (`background`: nobody waits on it) and
   * writes a digest every `digestRecords` records. An event the encoder refuses throws before the
   * chain moves.
   */
  const append = (event: AuditEventInput, background: boolean): Promise<void> => {
    const written = dispatch(seal(event), background);
    digestIfDue();
    return written;
  };
  /** `append` for `recordThen`: the same order (record, then a digest when due), `done` for the wait. */
  const appendThen = (event: AuditEventInput, done: WriteDone): boolean => {
    const waits = dispatchThen(seal(event), done);
    digestIfDue();
    return waits;
  };
  const seal = (event: AuditEventInput): SealedRecord => {
    const sealed = chain.sealText(encode, event);
    recorded++;
    return sealed;
  };
  const digestIfDue = (): void => {
    if (chain.lastSeq - lastDigestSeq >= digestRecords) void writeDigest(false);
  };
  /** The first refusing sink that cannot take a record now, if any. */
  const notAccepting = (): RecordSink | undefined => {
    for (const sink of refusing) if (!sink.accepting()) return sink;
    return undefined;
  };
  /** Why a record cannot be taken now (the log is closed, a refusing sink is full or failing), counted; undefined when it can. */
  const refuses = (): AuditError | undefined => {
    if (closing) return new AuditError('ERR_AUDIT_CLOSED', 'audit log is closed');
    const full = notAccepting();
    if (full === undefined) return undefined;
    refused++;
    return new AuditError('ERR_AUDIT_UNAVAILABLE', `audit sink ${full.name} cannot take records`, { sink: full.name });
  };
  /** Counts follow-ups that will never be written and tells `onSinkError` why. */
  const giveUp = (count: number, sink: string, why: string): void => {
    followUpsDropped += count;
    deps.onSinkError?.(sink, new AuditError('ERR_AUDIT_UNAVAILABLE', `${count} follow-up record(s) not written: ${why}`, { sink }));
  };
  /**
   * Writes waiting follow-ups, oldest first, while every refusing sink accepts. Nobody waits on
   * them: a failed write is reported, and its record kept by the sink.
   */
  const writeFollowUps = (): void => {
    for (let event = followUps.peek(); event !== undefined && notAccepting() === undefined; event = followUps.peek()) {
      followUps.shift();
      try {
        void append(event, true);
      } catch (err) {
        // Runs from a timer too, where a throw would end the process: this one event is lost, said so.
        giveUp(1, 'log', `it could not be encoded (${err instanceof Error ? err.message : String(err)})`);
      }
    }
  };
  /** The timer's turn: writes what it can and looks again shortly while follow-ups wait. */
  const retryFollowUps = (): void => {
    followUpTimer = undefined;
    if (closing) return;
    writeFollowUps();
    if (followUps.length > 0) followUpTimer = setTimeout(retryFollowUps, followUpRetryMs).unref();
  };

  return {
    instanceId: deps.instanceId,
    publicKey: signer?.key,
    record(event) {
      const refusal = refuses();
      return refusal === undefined ? append(event, false) : Promise.reject(refusal);
    },
    recordThen(event, done) {
      const refusal = refuses();
      if (refusal !== undefined) throw refusal;
      return appendThen(event, done);
    },
    recordWhenAccepting(event) {
      if (closing) {
        giveUp(1, 'log', 'the audit log is closed');
        return;
      }
      if (followUps.length >= maxFollowUps) {
        followUpsDropped++;
        return;
      }
      followUps.push(event);
      // Nothing waits before it and the sinks take records: now; otherwise in order, when they do.
      if (followUps.length === 1 && notAccepting() === undefined) writeFollowUps();
      else followUpTimer ??= setTimeout(retryFollowUps, followUpRetryMs).unref();
    },
    flush: () => Promise.all(sinks.map((s) => s.flush())).then(() => undefined),
    async close() {
      if (closing) return;
      if (followUpTimer) clearTimeout(followUpTimer);
      // Follow-ups still waiting go in before the final digest if the sinks take them now.
      writeFollowUps();
      closing = true;
      if (followUps.length > 0) giveUp(followUps.drain().length, notAccepting()?.name ?? 'log', 'a sink still could not take records when the log closed');
      if (timer) clearInterval(timer);
      await writeDigest(true);
      const results = await Promise.allSettled(sinks.map((s) => s.close()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    stats() {
      const bySink = sinks.map((s) => [s.name, s.stats()] as const);
      // Each sink writes in chain order, so its last `buffered` records are the ones not yet
      // written: the head is where the sink furthest behind stands (read once per scrape).
      const behind = Math.max(0, ...bySink.map(([, s]) => s.buffered));
      const seq = chain.lastSeq - behind;
      const head: ChainHead = { instanceId: deps.instanceId, seq, ...(behind === 0 ? { hash: chain.lastHash } : {}) };
      return { recorded, refused, digests, followUps: { queued: followUps.length, dropped: followUpsDropped }, lastSeq: chain.lastSeq, head, sinks: Object.fromEntries(bySink) };
    },
  };
}
