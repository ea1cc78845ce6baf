// The hash chain of one writer: each record carries its sequence number, the hash of the previous
// record and its own hash, all over the canonical form. Digest records are also signed.
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
}

/** What goes into a chain record besides the event body. */
export interface ChainExtras {
  readonly key?: PublishedKey;
  readonly digest?: DigestInfo;
}

export interface Chain {
  readonly instanceId: string;
  /** Sequence number of the last sealed record (0 before the first). */
  readonly lastSeq: number;
  /** Appends a record to the chain and returns it serialised. */
  seal(body: AuditEventBody, extras?: ChainExtras): SealedRecord;
  /** Appends a signed record: the signature covers the canonical form without `sig` and `hash`. */
  sealSigned(body: AuditEventBody, extras: ChainExtras, signer: AuditSigner): SealedRecord;
}

type Unsealed = Omit<AuditRecord, 'hash'>;

function asCanonical(record: Unsealed): CanonicalValue {
  return record as unknown as CanonicalValue;
}

/** The hash a record must carry: SHA-256 of its canonical form without `hash`. */
export function recordHash(record: Unsealed): string {
  return sha256Hex(canonicalJson(asCanonical(record)));
}

/** The bytes a digest signature covers: the canonical form without `sig` and `hash`. */
export function signedPayload(record: Omit<AuditRecord, 'hash' | 'sig'>): string {
  return canonicalJson(record as unknown as CanonicalValue);
}

/** Starts a new chain for one writer (one process run): seq 1 links to 64 zeros. */
export function createChain(instanceId: string): Chain {
  let seq = 0;
  let prev = GENESIS_PREV;
  const append = (record: Unsealed): SealedRecord => {
    const canonical = canonicalJson(asCanonical(record));
    const hash = sha256Hex(canonical);
    seq = record.seq;
    prev = hash;
    return { instanceId, seq, hash, line: `${canonical.slice(0, -1)},"hash":"${hash}"}\n` };
  };
  return {
    instanceId,
    get lastSeq() {
      return seq;
    },
    seal: (body, extras) => append({ ...body, ...extras, instanceId, seq: seq + 1, prev }),
    sealSigned: (body, extras, signer) => {
      const unsigned = { ...body, ...extras, instanceId, seq: seq + 1, prev };
      return append({ ...unsigned, sig: signer.sign(signedPayload(unsigned)) });
    },
  };
}
