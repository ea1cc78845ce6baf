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
