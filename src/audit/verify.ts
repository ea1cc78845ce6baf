// Verifies a trail: every record's own hash, the links between records of each chain, sequence
// numbers (missing, reordered, inserted, repeated), digest signatures against the published or
// trusted keys, and whether each chain was closed. Findings name the record (line or stream entry).
import { readJsonText } from '../policy/index.js';
import { earlierShadowHash, recordHash, signedPayload } from './chain.js';
import type { AuditRecord, ChainHead, DigestInfo, PublishedKey } from './schema.js';
import { hasChainFields } from './read.js';
import { GENESIS_PREV, SCHEMA_VERSION } from './schema.js';
import { verifyDigestSignature } from './signing.js';
import type { TrailEntry } from './trail.js';

/** `tampered`: the trail was changed. `incomplete`: intact as far as it goes, but not all of it is proven. */
export type FindingSeverity = 'tampered' | 'incomplete' | 'note';

export const FINDING_SEVERITY = {
  altered: 'tampered',
  chain_broken: 'tampered',
  missing: 'tampered',
  reordered: 'tampered',
  inserted: 'tampered',
  garbled: 'tampered',
  malformed: 'tampered',
  bad_signature: 'tampered',
  unknown_key: 'tampered',
  bad_digest: 'tampered',
  gap_unbacked: 'tampered',
  truncated: 'tampered',
  torn: 'incomplete',
  unclosed: 'incomplete',
  unsigned: 'incomplete',
  dropped: 'incomplete',
  duplicate: 'note',
  trimmed: 'note',
} as const satisfies Record<string, FindingSeverity>;

export type FindingCode = keyof typeof FINDING_SEVERITY;

export interface VerifyFinding {
  readonly severity: FindingSeverity;
  readonly code: FindingCode;
  readonly message: string;
  /** The entry concerned (`line 12`), when there is one. */
  readonly ref?: string;
  readonly instanceId?: string;
  readonly seq?: number;
}

export interface ChainSummary {
  readonly instanceId: string;
  /** 1 for the first chain of this instance id in the trail, 2 if it started again, ... */
  readonly run: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly records: number;
  /** Highest seq proven by a valid signed digest (0 if none). */
  readonly signedThrough: number;
  /** True when the chain ends with a valid final digest. */
  readonly closed: boolean;
}

export interface VerifyReport {
  readonly status: 'ok' | 'incomplete' | 'tampered';
  /** Audit records read (chain records, not gap notes or other log lines). */
  readonly records: number;
  /** Lines that are not audit records (other log lines on stdout), skipped. */
  readonly ignored: number;
  readonly chains: readonly ChainSummary[];
  readonly findings: readonly VerifyFinding[];
}

export interface VerifyOptions {
  /** Keys digests must be signed with, by key id. Without them, each chain's own published key is used. */
  readonly trustedKeys?: ReadonlyMap<string, PublishedKey>;
  /** The oldest records may be gone legitimately (a Redis Stream trimmed by MAXLEN). */
  readonly headMayBeTrimmed?: boolean;
  /**
   * Chain heads the writers published outside the trail (`GET /audit/head`, the
   * `iamgate_audit_chain_head_seq` metric), by instance id: every record to `seq` had been written
   * when it was read, so a chain that ends before it had its tail cut off.
   */
  readonly heads?: ReadonlyMap<string, Omit<ChainHead, 'instanceId'>>;
}

interface Rec {
  readonly ref: string;
  readonly instanceId: string;
  readonly seq: number;
  readonly kind: string;
  readonly hash: string;
  readonly prev: string;
  readonly hashOk: boolean;
  readonly key?: PublishedKey;
  readonly digest?: DigestInfo;
  readonly sig?: string;
  /** Digests only: the bytes the signature covers. */
  readonly payload?: string;
  /** Digests only: the seal a rotating sink wrote as the last record of a file it closed. */
  readonly fileEnd?: boolean;
}

interface Run {
  readonly instanceId: string;
  readonly index: number;
  readonly bySeq: Map<number, Rec[]>;
  /** Records in trail order, identical repeats left out. */
  readonly order: Rec[];
}

interface Gap {
  readonly ref: string;
  readonly instanceId: string;
  readonly sink: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly count: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function parseLine(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Why a record's line says more than one thing, or undefined when it says one. The hash covers
 * JSON.parse's reading, while other readers may keep the first of a member named twice, read a
 * number a double cannot hold as written, or refuse nesting JSON.parse reads: each such line can
 * carry a forged value beside the genuine one. The writer's lines are what JSON.stringify writes
 * of their reading, which such a line never is, so only lines spelt otherwise are read again with
 * the policy language's strict reader (reading every line tripled verify's time); a line that
 * reader cannot read is doubt enough, as a forged value nested past its depth would hide the rest.
 */
function ambiguity(text: string, parsed: Json): string | undefined {
  if (JSON.stringify(parsed) === text) return undefined;
  const strict = readJsonText(text);
  const repeated = strict.duplicateKeys[0];
  if (repeated !== undefined) return `it names member ${JSON.stringify(repeated)} twice, which readers take for different values`;
  const inexact = strict.inexactNumbers[0];
  if (inexact !== undefined) return `it writes ${inexact.text} at ${inexact.path}, a number readers take for different values`;
  if (strict.error !== undefined) return `its strict reading fails: ${strict.error.message}`;
  return undefined;
}

function toRec(ref: string, o: Json): Rec | undefined {
  const { hash, ...withoutHash } = o;
  if (!hasChainFields(o) || typeof hash !== 'string') return undefined;
  const record = withoutHash as unknown as Omit<AuditRecord, 'hash'>;
  const rec: Rec = {
    ref,
    instanceId: record.instanceId,
    seq: record.seq,
    kind: record.kind,
    hash,
    prev: record.prev,
    hashOk: recordHash(record) === hash || earlierShadowHash(record) === hash,
    ...(isObject(o['key']) ? { key: o['key'] as unknown as PublishedKey } : {}),
  };
  if (record.kind !== 'audit.digest') return rec;
  const { sig, ...unsigned } = record;
  return {
    ...rec,
    ...(isObject(o['digest']) ? { digest: o['digest'] as unknown as DigestInfo } : {}),
    ...(typeof sig === 'string' ? { sig } : {}),
    payload: signedPayload(unsigned),
    ...(record.reason === FILE_END ? { fileEnd: true } : {}),
  };
}

function toGap(ref: string, o: Json): Gap | undefined {
  const { instanceId, sink, fromSeq, toSeq, count } = o;
  if (typeof instanceId !== 'string' || typeof sink !== 'string' || !isSeq(fromSeq) || !isSeq(toSeq) || !isSeq(count)) {
    return undefined;
  }
  return { ref, instanceId, sink, fromSeq, toSeq, count };
}

/** `reason` of the digest that ends a file the writer rotated away (see sinks/rotation.ts). */
const FILE_END = 'file_end';

const range = (a: number, b: number): string => (a === b ? `seq ${a}` : `seq ${a}..${b}`);

/** Checks a whole trail and says what, if anything, is wrong with it and where. */
/**
 * What an unreadable line the chain explains is: the start of a record whose write a crash cut
 * short, or (not starting with `{`) text another program wrote into the same stream, such as npm's
 * banner when the trail is captured from `npm start` without `--silent`.
 */
function tornReading(text: string): string {
  if (text.trimStart().startsWith('{')) return `is an incomplete record (${text.length} chars): a write cut short by a crash`;
  return `is not a record but text another program wrote into the trail (${text.length} chars, e.g. npm's banner: capture with npm start --silent)`;
}

export async function verifyTrail(entries: AsyncIterable<TrailEntry> | Iterable<TrailEntry>, options: VerifyOptions = {}): Promise<VerifyReport> {
  const findings: VerifyFinding[] = [];
  const add = (code: FindingCode, message: string, where: { ref?: string; instanceId?: string; seq?: number } = {}): void => {
    findings.push({
      severity: FINDING_SEVERITY[code],
      code,
      message,
      ...(where.ref === undefined ? {} : { ref: where.ref }),
      ...(where.instanceId === undefined ? {} : { instanceId: where.instanceId }),
      ...(where.seq === undefined ? {} : { seq: where.seq }),
    });
  };
  const runs = new Map<string, Run[]>();
  const allRuns: Run[] = [];
  const gaps: Gap[] = [];
  let records = 0;
  let ignored = 0;
  /** Unreadable lines not yet judged: a torn write if what follows starts a new chain or nothing follows. */
  let unreadable: TrailEntry[] = [];
  const judgeUnreadable = (followedByNewChain: boolean): void => {
    for (const entry of unreadable) {
      if (followedByNewChain || !entry.complete) {
        add('torn', `${entry.ref} ${tornReading(entry.text)}; the records before it are not affected`, { ref: entry.ref });
      } else {
        add('garbled', `${entry.ref} is not a readable record and no crash explains it`, { ref: entry.ref });
      }
    }
    unreadable = [];
  };

  for await (const entry of entries) {
    if (entry.text.trim() === '') continue;
    const parsed = parseLine(entry.text);
    if (!isObject(parsed)) {
      unreadable.push(entry);
      continue;
    }
    if (parsed['kind'] === 'audit.gap') {
      const gap = toGap(entry.ref, parsed);
      if (gap) gaps.push(gap);
      else add('malformed', `${entry.ref}: a gap note without its fields`, { ref: entry.ref });
      continue;
    }
    const looksAudit = 'seq' in parsed || 'hash' in parsed || 'instanceId' in parsed || 'schemaVersion' in parsed;
    if (!looksAudit) {
      ignored++;
      continue;
    }
    const rec = toRec(entry.ref, parsed);
    if (!rec) {
      judgeUnreadable(false);
      add('malformed', `${entry.ref}: an audit record without the fields of schema version ${SCHEMA_VERSION} (or an earlier one)`, { ref: entry.ref });
      continue;
    }
    records++;
    const startsChain = rec.seq === 1 && rec.kind === 'audit.start';
    judgeUnreadable(startsChain);
    // The writer writes UTF-8 only; other bytes read as U+FFFD by some readers and not at all by others.
    const twofold = entry.notUtf8 === true ? 'it holds bytes that are not UTF-8, which readers take for different text or refuse' : ambiguity(entry.text, parsed);
    if (twofold !== undefined) {
      add('altered', `${rec.ref}: record seq ${rec.seq} was altered (${twofold})`, rec);
    } else if (!rec.hashOk) {
      add('altered', `${rec.ref}: record seq ${rec.seq} was altered (its content does not match its hash)`, rec);
    }
    const list = runs.get(rec.instanceId) ?? [];
    let run = list.at(-1);
    const seenStart = run?.bySeq.get(1)?.some((r) => r.hash === rec.hash);
    if (!run || (startsChain && !seenStart && run.order.length > 0)) {
      run = { instanceId: rec.instanceId, index: list.length + 1, bySeq: new Map(), order: [] };
      list.push(run);
      runs.set(rec.instanceId, list);
      allRuns.push(run);
    }
    const same = run.bySeq.get(rec.seq);
    if (same?.some((r) => r.hash === rec.hash)) {
      add('duplicate', `${rec.ref}: record seq ${rec.seq} repeats ${same[0]?.ref} exactly (a Redis write retried after a timeout, a line a log collector delivered twice, or a copy written in): it adds nothing, and the reports and replay count it once`, rec);
      continue;
    }
    if (same) same.push(rec);
    else run.bySeq.set(rec.seq, [rec]);
    const before = run.order.at(-1);
    if (before && rec.seq < before.seq && !same) {
      add('reordered', `${rec.ref}: record seq ${rec.seq} comes after seq ${before.seq} (${before.ref}): records reordered`, rec);
    }
    run.order.push(rec);
  }
  judgeUnreadable(false);

  const summaries = allRuns.map((run) => checkRun(run, gaps, options, add));
  for (const [instanceId, head] of options.heads ?? []) {
    // A head at seq 0 was read before any record was written: its chain's absence proves nothing.
    if (!runs.has(instanceId) && head.seq > 0) add('truncated', `chain ${instanceId} is not in the trail, though its writer had written it through seq ${head.seq} (its published head): it was removed`, { instanceId, seq: head.seq });
  }
  const status = findings.some((f) => f.severity === 'tampered')
    ? 'tampered'
    : findings.some((f) => f.severity === 'incomplete')
      ? 'incomplete'
      : 'ok';
  return { status, records, ignored, chains: summaries, findings };
}

type Add = (code: FindingCode, message: string, where?: { ref?: string; instanceId?: string; seq?: number }) => void;

/** Picks, among records claiming one seq, the one that fits its neighbours; the others were inserted. */
function choose(run: Run, seq: number, add: Add): Rec | undefined {
  const candidates = run.bySeq.get(seq);
  if (!candidates || candidates.length === 1) return candidates?.[0];
  const before = run.bySeq.get(seq - 1);
  const after = run.bySeq.get(seq + 1);
  const fits = (c: Rec): boolean =>
    c.hashOk &&
    (seq === 1 ? c.prev === GENESIS_PREV : (before?.some((b) => b.hash === c.prev) ?? true)) &&
    (after?.some((a) => a.prev === c.hash) ?? true);
  const genuine = candidates.find(fits) ?? candidates[0];
  for (const c of candidates) {
    if (c !== genuine) {
      add('inserted', `${c.ref}: a second, different record claims seq ${seq} (the chain runs through ${genuine?.ref}): inserted`, c);
    }
  }
  return genuine;
}

/** Whether gap notes cover every seq from `from` to `to` (interval sweep: ranges may be huge). */
function coveredBy(notes: readonly Gap[], from: number, to: number): boolean {
  let next = from;
  for (const g of [...notes].sort((a, b) => a.fromSeq - b.fromSeq)) {
    if (g.fromSeq > next) break;
    next = Math.max(next, g.toSeq + 1);
    if (next > to) return true;
  }
  return false;
}

/**
 * Checks the head of a chain, the link between consecutive records, and what lies in each gap of
 * sequence numbers: records dropped by a sink (as a gap note says) or missing. Returns the sinks
 * whose gap notes explain a gap, for the digests to back.
 */
function checkLinks(chain: readonly Rec[], who: string, gaps: readonly Gap[], options: VerifyOptions, add: Add): Set<string> {
  const first = chain[0] as Rec;
  if (first.seq > 1) {
    if (options.headMayBeTrimmed) add('trimmed', `chain ${who} starts at seq ${first.seq} (${first.ref}): older entries were trimmed from the stream`, first);
    else add('missing', `chain ${who}: ${range(1, first.seq - 1)} missing before ${first.ref}`, first);
  } else if (first.prev !== GENESIS_PREV || first.kind !== 'audit.start') {
    add('chain_broken', `${first.ref}: seq 1 of chain ${who} is not a chain start`, first);
  }
  const droppingSinks = new Set<string>();
  for (let i = 1; i < chain.length; i++) {
    const a = chain[i - 1] as Rec;
    const b = chain[i] as Rec;
    if (b.seq === a.seq + 1) {
      if (b.prev !== a.hash) {
        add('chain_broken', `${a.ref}: record seq ${a.seq} does not match the link in seq ${b.seq} (${b.ref}): seq ${a.seq} was altered or replaced, or seq ${b.seq} inserted`, a);
      }
      continue;
    }
    const from = a.seq + 1;
    const to = b.seq - 1;
    const notes = gaps.filter((g) => g.fromSeq <= to && g.toSeq >= from);
    if (coveredBy(notes, from, to)) {
      const sinks = [...new Set(notes.map((g) => g.sink))];
      for (const sink of sinks) droppingSinks.add(sink);
      add('dropped', `chain ${who}: ${range(from, to)} between ${a.ref} and ${b.ref} were dropped by the writer (sink ${sinks.join(', ')} said so in ${notes.map((g) => g.ref).join(', ')})`, { instanceId: a.instanceId, seq: from });
    } else {
      add('missing', `chain ${who}: ${range(from, to)} missing between ${a.ref} and ${b.ref}`, { ref: b.ref, instanceId: a.instanceId, seq: from });
    }
  }
  return droppingSinks;
}

/**
 * Checks every digest of a chain: key, signature, the range it covers, the drop counts it signs;
 * and that nothing follows a final digest. Returns how far signatures reach and where it closed.
 */
function checkDigests(
  chain: readonly Rec[],
  who: string,
  gaps: readonly Gap[],
  droppingSinks: ReadonlySet<string>,
  trusted: ReadonlyMap<string, PublishedKey> | undefined,
  add: Add,
): { signedThrough: number; closedAt: Rec | undefined } {
  const first = chain[0] as Rec;
  const startKey = first.seq === 1 ? first.key : undefined;
  if (trusted && startKey && !trusted.has(startKey.kid)) {
    add('unknown_key', `${first.ref}: chain ${who} publishes key ${startKey.kid}, which is not among the trusted keys`, first);
  } else if (trusted && first.seq === 1 && !startKey) {
    // A writer that signs publishes its key in the start record, crash or not: a chain that starts
    // without one was never signed, and the trusted keys the caller requires can prove none of it.
    add('unknown_key', `${first.ref}: chain ${who} publishes no key, so no trusted key signs any of it: nothing in it is proven`, first);
  }
  let signedThrough = 0;
  let closedAt: Rec | undefined;
  /** Seq of the previous digest (unknown when the chain's head was trimmed). */
  let lastDigestSeq: number | undefined = first.seq === 1 ? 0 : undefined;
  /** Sinks already reported for gap notes the digests do not back (said once, at the first digest). */
  const unbacked = new Set<string>();
  for (const rec of chain) {
    if (closedAt) {
      add('inserted', `${rec.ref}: record seq ${rec.seq} follows the final digest of chain ${who} (${closedAt.ref})`, rec);
      continue;
    }
    if (rec.kind !== 'audit.digest') continue;
    const digest = rec.digest;
    if (!digest || typeof rec.sig !== 'string' || rec.payload === undefined) {
      add('bad_digest', `${rec.ref}: digest seq ${rec.seq} lacks its signature or fields`, rec);
      continue;
    }
    const key = trusted ? trusted.get(digest.kid) : startKey?.kid === digest.kid ? startKey : undefined;
    if (!key) {
      if (trusted) add('unknown_key', `${rec.ref}: digest seq ${rec.seq} is signed with key ${digest.kid}, which is not trusted`, rec);
      else add('unsigned', `${rec.ref}: digest seq ${rec.seq} cannot be checked: the chain's start (and its key) is not in this trail; pass the public key`, rec);
      continue;
    }
    if (!verifyDigestSignature(key, rec.payload, rec.sig)) {
      add('bad_signature', `${rec.ref}: the signature of digest seq ${rec.seq} does not verify with key ${key.kid}: the digest, or records before it, were forged`, rec);
      lastDigestSeq = rec.seq;
      continue;
    }
    if (digest.toSeq !== rec.seq - 1 || (lastDigestSeq !== undefined && digest.fromSeq !== lastDigestSeq + 1)) {
      add('bad_digest', `${rec.ref}: digest seq ${rec.seq} covers seq ${digest.fromSeq}..${digest.toSeq}, not the records before it`, rec);
    }
    for (const sink of droppingSinks) {
      if (unbacked.has(sink)) continue;
      const claimed = gaps.filter((g) => g.sink === sink && g.toSeq < rec.seq).reduce((n, g) => n + g.count, 0);
      const signed = (digest.dropped ?? {})[sink] ?? 0;
      if (claimed > signed) {
        unbacked.add(sink);
        add('gap_unbacked', `${rec.ref}: gap notes claim ${claimed} records dropped by sink ${sink}, but digest seq ${rec.seq} signs ${signed}: records were removed`, rec);
      }
    }
    signedThrough = rec.seq;
    lastDigestSeq = rec.seq;
    if (digest.final) closedAt = rec;
  }
  return { signedThrough, closedAt };
}

/**
 * Compares the end of a writer's chain with the head it published outside the trail: a chain that
 * ends before the head lost its tail; the record at the head must be the one published.
 * `held`: the chain holds its head, proven to it (by the head's hash, or by a signed digest at or
 * after it); `reached`: the chain is as long, but nothing proves its records up to the head are the
 * ones written (a head without its hash, past the last signed digest: whoever can write the file
 * can cut those records and hash new ones back to that length); `cut`: it ends before it; `other`:
 * a record at the head is not the one published, or the head's seq is missing (both reported already).
 */
function checkHead(chain: readonly Rec[], who: string, head: Omit<ChainHead, 'instanceId'>, signedThrough: number, add: Add): 'held' | 'reached' | 'cut' | 'other' {
  const last = chain.at(-1) as Rec;
  if (last.seq < head.seq) {
    add('truncated', `chain ${who} ends at seq ${last.seq} (${last.ref}), but its writer had written it through seq ${head.seq} (its published head): ${range(last.seq + 1, head.seq)} were cut from the tail`, { ref: last.ref, instanceId: last.instanceId, seq: last.seq + 1 });
    return 'cut';
  }
  const at = chain.find((r) => r.seq === head.seq);
  if (!at) return 'other';
  if (head.hash === undefined) return signedThrough >= head.seq ? 'held' : 'reached';
  if (at.hash === head.hash) return 'held';
  add('chain_broken', `${at.ref}: record seq ${head.seq} of chain ${who} is not the record its writer published as its head (hash ${head.hash}): the chain was rewritten`, at);
  return 'other';
}

/** Why a chain without a final digest ends where it does, as far as its head and its last record tell. */
function whyUnclosed(held: ReturnType<typeof checkHead> | undefined, head: Omit<ChainHead, 'instanceId'> | undefined, from: number, sealedFile: boolean): string {
  if (held === 'held' && head) {
    return `the writer stopped uncleanly (crash, kill) or is still running; it holds its published head, seq ${head.seq}, so only records after that may have been cut`;
  }
  if (held === 'reached' && head) {
    return `the writer stopped uncleanly (crash, kill) or is still running — or its tail was cut and forged back to that length: it holds its published head, seq ${head.seq}, by length only, since that head gives no hash and no signed digest covers ${range(from, head.seq)}, so those records are not proven to be the ones written (a head with its hash, as GET /audit/head answers when nothing waits to be written, proves them)`;
  }
  if (sealedFile) {
    return 'it ends with the seal of a file the writer rotated away, so the files written after it were removed, or the writer stopped right after rotating (a head published outside the trail, audit verify --head, tells which)';
  }
  return 'the writer stopped uncleanly (crash, kill) or is still running — or the tail was removed (a head published outside the trail, audit verify --head, tells which)';
}

function checkRun(run: Run, gaps: readonly Gap[], options: VerifyOptions, add: Add): ChainSummary {
  const id = run.instanceId;
  const seqs = [...run.bySeq.keys()].sort((a, b) => a - b);
  const chain = seqs.map((s) => choose(run, s, add)).filter((r): r is Rec => r !== undefined);
  const first = chain[0];
  const last = chain.at(-1);
  if (!first || !last) return { instanceId: id, run: run.index, firstSeq: 0, lastSeq: 0, records: 0, signedThrough: 0, closed: false };
  const who = run.index > 1 ? `${id} (run ${run.index})` : id;
  const instanceGaps = gaps.filter((g) => g.instanceId === id);
  const droppingSinks = checkLinks(chain, who, instanceGaps, options, add);
  const { signedThrough, closedAt } = checkDigests(chain, who, instanceGaps, droppingSinks, options.trustedKeys, add);
  // An instance id names one process run, so every chain under it must reach its head: a chain
  // start under the same id after a cut tail cannot stand in for the chain that was cut.
  const head = options.heads?.get(id);
  const held = head === undefined ? undefined : checkHead(chain, who, head, signedThrough, add);
  // A chain cut before its head is reported as such: that it ends without a seal says nothing more.
  if (!closedAt && held !== 'cut') {
    const signable = first.seq === 1 ? first.key !== undefined : true;
    if (!signable && !options.trustedKeys && signedThrough === 0) {
      add('unsigned', `chain ${who} has no signing key: its ${chain.length} records (to seq ${last.seq}, ${last.ref}) are chained but not signed`, last);
    } else {
      const verified = signedThrough > 0 ? `last verified seq ${signedThrough} (signed)` : 'no record verified by a signature';
      const tail = signedThrough < last.seq ? `; ${range(Math.max(signedThrough + 1, first.seq), last.seq)} not covered by a signed digest` : '';
      // A signed file seal last: the file ended there, so what is missing is what came after it.
      const sealedFile = last.fileEnd === true && signedThrough === last.seq;
      const why = whyUnclosed(held, head, Math.max(signedThrough + 1, first.seq), sealedFile);
      // The start record names a key but is not signed: a chain no digest reaches needs no key to write.
      const unproven = signedThrough === 0 && held !== 'held' ? `; nothing of chain ${who} is proven to be written by iamgate: a chain no signed digest reaches can be written whole, its start copied, by anyone able to write the trail` : '';
      add('unclosed', `chain ${who} ends at seq ${last.seq} (${last.ref}) without a final digest (the seal a clean stop writes), ${verified}${tail}: ${why}${unproven}`, last);
    }
  }
  return {
    instanceId: id,
    run: run.index,
    firstSeq: first.seq,
    lastSeq: last.seq,
    records: chain.length,
    signedThrough,
    closed: closedAt !== undefined,
  };
}
