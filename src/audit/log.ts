// The audit log the gateway calls: one `record` per decision. It builds the event from named
// fields, seals it into this instance's hash chain, hands it to every sink in order, and every
// `digestEvery` records (or ms) writes a digest record signed with the instance's key.
import type { BuildDeps } from './build.js';
import { createChain, type SealedRecord, type UnsealedRecord } from './chain.js';
import { createEventEncoder } from './encode.js';
import { AuditError } from './errors.js';
import { createIdSource, createIsoClock } from './ids.js';
import type { AuditEventInput, ChainHead, ChainKind, DigestInfo, PublishedKey } from './schema.js';
import { SCHEMA_VERSION } from './schema.js';
import type { AuditSigner } from './signing.js';
import { createStdoutSink } from './sinks/stream.js';
import type { RecordSink, SinkStats } from './sinks/types.js';

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
  /** Told about failed writes of `drop` sinks and of digest records (which never fail a request). */
  readonly onSinkError?: (sink: string, err: unknown) => void;
}

export interface AuditLogStats {
  /** Events accepted through `record`. */
  readonly recorded: number;
  /** Events refused because a `refuse` sink could not take them. */
  readonly refused: number;
  readonly digests: number;
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
  /** Resolves when every sink has written everything accepted so far. */
  flush(): Promise<void>;
  /** Writes the final signed digest, flushes and closes every sink. */
  close(): Promise<void>;
  stats(): AuditLogStats;
}

const RESOLVED = Promise.resolve();

/** Creates the audit log and writes the chain's first record (`audit.start`, with the public key). */
export function createAuditLog(deps: AuditLogDeps): AuditLog {
  const sinks = deps.sinks ?? [createStdoutSink()];
  const refusing = sinks.filter((s) => s.whenFull === 'refuse');
  const build: BuildDeps = { now: deps.now ?? Date.now, randomId: deps.randomId ?? createIdSource(), isoTime: createIsoClock() };
  const signer = deps.signer;
  const digestRecords = deps.digestEvery?.records ?? 1000;
  const digestMs = deps.digestEvery?.ms ?? 60_000;
  const chain = createChain(deps.instanceId);
  const encode = createEventEncoder(deps.instanceId, build);
  let recorded = 0;
  let refused = 0;
  let digests = 0;
  let lastDigestSeq = 0;
  let closing = false;

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
  /** Drops per sink name, in sorted key order (the digest is serialised as built). */
  const droppedBySink = (): Record<string, number> => {
    const dropped: Record<string, number> = {};
    for (const name of sinkNames) dropped[name] = 0;
    for (const sink of sinks) dropped[sink.name] = (dropped[sink.name] ?? 0) + sink.stats().dropped;
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

  return {
    instanceId: deps.instanceId,
    publicKey: signer?.key,
    record(event) {
      if (closing) return Promise.reject(new AuditError('ERR_AUDIT_CLOSED', 'audit log is closed'));
      for (const sink of refusing) {
        if (!sink.accepting()) {
          refused++;
          return Promise.reject(new AuditError('ERR_AUDIT_UNAVAILABLE', `audit sink ${sink.name} cannot take records`, { sink: sink.name }));
        }
      }
      const sealed = chain.sealText(encode, event);
      recorded++;
      const written = dispatch(sealed, false);
      if (chain.lastSeq - lastDigestSeq >= digestRecords) void writeDigest(false);
      return written;
    },
    flush: () => Promise.all(sinks.map((s) => s.flush())).then(() => undefined),
    async close() {
      if (closing) return;
      closing = true;
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
      return { recorded, refused, digests, lastSeq: chain.lastSeq, head, sinks: Object.fromEntries(bySink) };
    },
  };
}
