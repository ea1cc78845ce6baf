// Canonical JSON for hashing and signing: object keys sorted by UTF-16 code units, no whitespace,
// strings and numbers as JSON.stringify writes them (the same rules as RFC 8785 for the values the
// audit trail holds). A record parsed back from its line serialises to the same bytes.
import { createHash, hash } from 'node:crypto';

/** A value the audit trail can hold. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue | undefined };

/** Serialises a value canonically; `undefined` members are left out, non-finite numbers are refused. */
export function canonicalJson(value: CanonicalValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (const item of value as readonly CanonicalValue[]) items.push(canonicalJson(item));
    return `[${items.join(',')}]`;
  }
  const object = value as { readonly [key: string]: CanonicalValue | undefined };
  const members: string[] = [];
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
  }
  return `{${members.join(',')}}`;
}

/** SHA-256 of a string, hex: one-shot `crypto.hash` where the runtime has it (Node >= 20.12), no Hash object. */
export const sha256Hex: (text: string) => string =
  typeof hash === 'function' ? (text) => hash('sha256', text, 'hex') : (text) => createHash('sha256').update(text).digest('hex');
