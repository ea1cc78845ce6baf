// The hash chain of one writer: each record carries its sequence number, the hash of the previous
// record and its own hash, all over the canonical form. Digest records are also signed.
//
// Speed: records are laid out by their builders with members in canonical (sorted) order and the
// chain's own members (`instanceId`, `prev`, `seq`, `sig`) present but undefined. The chain fills
// them in place, so plain JSON.stringify yields the canonical form: no copy, no sort per record.
// Verification re-sorts everything with canonicalJson, so a builder that drifted from sorted order
// would show at once as altered records (and test/audit/chain.test.ts checks every kind).
import { canonicalJson, sha256Hex, type CanonicalValue } from './canonical.js';
import type { AuditEventBody, AuditRecord, DigestInfo, PublishedKey } from './schema.js';
import { GENESIS_PREV } from './schema.js';
import type { AuditSigner } from './signing.js';

/** A record ready for the sinks: its line (ending in a newline) and where it sits in the chain. */
export interface SealedRecord {
  readonly instanceId: string;
  readonly seq: number;
  readonly hash: string;
  readonly line: string;
  /** The line's length in UTF-8 bytes (what a sink counts), measured once here. */
  readonly bytes: number;
}

/** An event laid out in canonical member order, with the chain's members left for the chain. */
export type UnsealedRecord = AuditEventBody & {
  instanceId: string | undefined;
  prev: string | undefined;
  seq: number | undefined;
  sig?: string | undefined;
  readonly key?: PublishedKey;
  readonly digest?: DigestInfo;
};

export interface Chain {
  readonly instanceId: string;
  /** Sequence number of the last sealed record (0 before the first). */
  readonly lastSeq: number;
  /** Hash of the last sealed record (64 zeros before the first). */
  readonly lastHash: string;
  /** Appends a record to the chain (filling in its chain members) and returns it serialised. */
  seal(record: UnsealedRecord): SealedRecord;
  /** Appends a signed record: the signature covers the canonical form without `sig` and `hash`. */
  sealSigned(record: UnsealedRecord, signer: AuditSigner): SealedRecord;
  /**
   * Appends a record a writer lays out itself as canonical JSON text, given its sequence number and
   * the previous record's hash (the audit log's fast path, see encode.ts). The chain advances only
   * once `write` has returned, so a writer that throws leaves no hole.
   */
  sealText<T>(write: (value: T, seq: number, prev: string) => string, value: T): SealedRecord;
}

/** The hash a record must carry: SHA-256 of its canonical form without `hash`. */
export function recordHash(record: Omit<AuditRecord, 'hash'>): string {
  return sha256Hex(canonicalJson(record as unknown as CanonicalValue));
}

/**
 * The hash a record with a shadow verdict carries when an earlier gateway wrote it: those placed
 * `shadow` right after `cache` (before `decision`) instead of in sorted order. Same members, same
 * values, only that one member elsewhere; undefined for a record without `shadow`.
 */
export function earlierShadowHash(record: Omit<AuditRecord, 'hash'>): string | undefined {
  const members = record as unknown as { readonly [key: string]: CanonicalValue | undefined };
  const shadow = members['shadow'];
  if (shadow === undefined) return undefined;
  const keys = Object.keys(members).filter((k) => k !== 'shadow').sort();
  const at = keys.findIndex((k) => k > 'cache');
  keys.splice(at === -1 ? keys.length : at, 0, 'shadow');
  const parts: string[] = [];
  for (const key of keys) {
    const member = members[key];
    if (member !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
  }
  return sha256Hex(`{${parts.join(',')}}`);
}

/** The bytes a digest signature covers: the canonical form without `sig` and `hash`. */
export function signedPayload(record: Omit<AuditRecord, 'hash' | 'sig'>): string {
  return canonicalJson(record as unknown as CanonicalValue);
}

/** What sealing adds to the canonical form: `,"hash":"<64 hex>"` before its closing brace, and the newline. */
export const HASH_MEMBER_BYTES = ',"hash":""'.length + 64 + 1;

/** Starts a new chain for one writer (one process run): seq 1 links to 64 zeros. */
export function createChain(instanceId: string): Chain {
  let seq = 0;
  let prev = GENESIS_PREV;
  const place = (record: UnsealedRecord): void => {
    record.instanceId = instanceId;
    record.prev = prev;
    record.seq = seq + 1;
  };
  const append = (canonical: string): SealedRecord => {
    // Hashing flattens `canonical` once; its length is read from that flat string, not from the
    // line built from it (measuring the line would flatten and copy it again).
    const hash = sha256Hex(canonical);
    seq++;
    prev = hash;
    return { instanceId, seq, hash, line: `${canonical.slice(0, -1)},"hash":"${hash}"}\n`, bytes: Buffer.byteLength(canonical) + HASH_MEMBER_BYTES };
  };
  return {
    instanceId,
    get lastSeq() {
      return seq;
    },
    get lastHash() {
      return prev;
    },
    seal(record) {
      place(record);
      return append(JSON.stringify(record));
    },
    sealText(write, value) {
      return append(write(value, seq + 1, prev));
    },
    sealSigned(record, signer) {
      place(record);
      record.sig = undefined;
      record.sig = signer.sign(JSON.stringify(record));
      return append(JSON.stringify(record));
    },
  };
}
