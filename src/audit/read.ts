// Which lines of a trail are audit records: those carrying the chain's fields, the lines that
// `audit verify` checks. Any other line (a log line sharing stdout, a line forged without the
// fields) is no record to any reader, so a report never counts what verification passed over.
import type { AuditRecord } from './schema.js';
import { READABLE_SCHEMA_VERSIONS } from './schema.js';

/** Whether a parsed line has the fields every chained record has, in a schema version we read. */
export function hasChainFields(o: Readonly<Record<string, unknown>>): boolean {
  const seq = o['seq'];
  return (
    READABLE_SCHEMA_VERSIONS.has(o['schemaVersion']) &&
    typeof o['instanceId'] === 'string' &&
    typeof seq === 'number' &&
    Number.isInteger(seq) &&
    seq > 0 &&
    typeof o['kind'] === 'string' &&
    typeof o['prev'] === 'string' &&
    typeof o['hash'] === 'string'
  );
}

/** The audit record on a line of a trail, or undefined for a line that is not one. */
export function readRecord(text: string): AuditRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  return hasChainFields(parsed as Record<string, unknown>) ? (parsed as AuditRecord) : undefined;
}

/**
 * A filter that passes each writer's record once, by instance id and seq. A record read again is
 * an exact repeat (a Redis write retried after a timeout, a line a log collector delivered twice,
 * a copy written into the file) or one `audit verify` reports as inserted: never a second access.
 * It keeps, per writer, the ranges of seqs read: one range for a trail read in order, so a long
 * trail costs no memory per record.
 */
export function firstReadings(): (record: Pick<AuditRecord, 'instanceId' | 'seq'>) => boolean {
  const read = new Map<string, number[]>();
  return (record) => {
    let ranges = read.get(record.instanceId);
    if (ranges === undefined) read.set(record.instanceId, (ranges = []));
    return addSeq(ranges, record.seq);
  };
}

/** Adds `seq` to ranges held flat (`[from, to, from, to, ...]`, ascending, apart); false if it was there. */
function addSeq(ranges: number[], seq: number): boolean {
  // From the end: in a trail read in order, the seq follows on from the last range.
  let i = ranges.length - 2;
  while (i >= 0 && (ranges[i] as number) > seq) i -= 2;
  if (i >= 0 && seq <= (ranges[i + 1] as number)) return false;
  const joinsBefore = i >= 0 && ranges[i + 1] === seq - 1;
  const joinsAfter = ranges[i + 2] === seq + 1;
  if (joinsBefore && joinsAfter) ranges.splice(i + 1, 2);
  else if (joinsBefore) ranges[i + 1] = seq;
  else if (joinsAfter) ranges[i + 2] = seq;
  else ranges.splice(i + 2, 0, seq, seq);
  return true;
}
