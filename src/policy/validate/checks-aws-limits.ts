// What AWS refuses to store although iamgate can decide on it: characters outside the set IAM
// accepts in a policy document, and a document longer than the quota for where it is used
// (IAM User Guide, "IAM and AWS STS quotas"; AWS STS API Reference, AssumeRole; AWS Organizations
// User Guide, quotas). Both are warnings: the policy works in iamgate, but the same file would be
// refused by IAM or Organizations, and Access Analyzer flags the size ("Policy size exceeds
// identity policy quota").
import type { PolicyKind } from '../types.js';
import type { FindingSink } from './findings.js';
import { childPath, isJsonObject, itemPath } from './read.js';

/** Where a document is used, as far as AWS's size quotas tell uses apart. */
interface QuotaUse {
  readonly kind: PolicyKind;
  readonly trust: boolean;
}

/**
 * AWS's character quota for a document of this use, and what the quota is called; undefined where
 * the quota is the service's own (a bucket or queue policy), which iamgate cannot know.
 */
function sizeQuota({ kind, trust }: QuotaUse): { readonly max: number; readonly what: string } | undefined {
  if (trust) return { max: 2048, what: "IAM's default quota for a role trust policy (it can be raised to 4,096)" };
  switch (kind) {
    case 'identity':
    case 'boundary':
      return { max: 6144, what: 'IAM allows a customer managed policy' };
    case 'session':
      return { max: 2048, what: 'AWS STS allows a session policy' };
    case 'scp':
    case 'rcp':
      return { max: 5120, what: `AWS Organizations allows ${kind === 'scp' ? 'a service control policy' : 'a resource control policy'}` };
    case 'resource':
      return undefined;
  }
}

/** "Policy documents can contain only ... tab (U+0009), linefeed (U+000A), carriage return (U+000D), and characters in the range U+0020 to U+00FF." */
function isAcceptedCharacter(code: number): boolean {
  return code === 0x09 || code === 0x0a || code === 0x0d || (code >= 0x20 && code <= 0xff);
}

/** The first character of `s` that IAM does not accept, as `U+XXXX`; undefined when there is none. */
function refusedCharacter(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    if (isAcceptedCharacter(s.charCodeAt(i))) continue;
    const cp = s.codePointAt(i) ?? 0;
    return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return undefined;
}

function reportCharacter(text: string, path: string, sink: FindingSink): void {
  const refused = refusedCharacter(text);
  if (refused === undefined) return;
  sink.add('POLICY_CHARACTER_NOT_ACCEPTED', path, `"${text}" holds ${refused}: IAM accepts only tab, line feed, carriage return and U+0020 to U+00FF in a policy document, so AWS would refuse this one`);
}

/** Walks every key and string of the raw document, reporting each that holds a refused character. */
function checkCharacters(value: unknown, path: string, sink: FindingSink): void {
  if (typeof value === 'string') reportCharacter(value, path, sink);
  else if (Array.isArray(value)) value.forEach((item: unknown, i) => checkCharacters(item, itemPath(path, i), sink));
  else if (isJsonObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const at = childPath(path, key);
      reportCharacter(key, at, sink);
      checkCharacters(item, at, sink);
    }
  }
}

/** Characters of the document written compactly, whitespace not counted, as IAM counts them. */
function countedCharacters(value: unknown): number {
  const text = JSON.stringify(value);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) n++;
  }
  return n;
}

/** Reports characters and sizes AWS would refuse in a document read as `use`. */
export function checkAwsLimits(value: unknown, use: QuotaUse, sink: FindingSink): void {
  checkCharacters(value, '', sink);
  const quota = sizeQuota(use);
  if (quota === undefined) return;
  const size = countedCharacters(value);
  if (size <= quota.max) return;
  sink.add('POLICY_SIZE_QUOTA', '', `the document holds ${size.toLocaleString('en-US')} characters besides whitespace, more than the ${quota.max.toLocaleString('en-US')} ${quota.what}: split it into several policies`);
}
