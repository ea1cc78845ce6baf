// Reading `Principal` / `NotPrincipal`: `"*"`, or an object of principal types, each a string or
// a list of strings, checked for the shape its type requires.
import { parseArn } from '../arn.js';
import type { PrincipalSpec } from '../types.js';
import type { FindingSink } from './findings.js';
import { checkNoVariable, childPath, isJsonObject, jsonTypeName, readStringList } from './read.js';

type PrincipalType = 'AWS' | 'Service' | 'Federated' | 'CanonicalUser';
const PRINCIPAL_TYPES: readonly PrincipalType[] = ['AWS', 'Service', 'Federated', 'CanonicalUser'];

const ACCOUNT_ID = /^\d{12}$/;
// The unique id IAM shows in place of a user or role that was deleted after the policy was written.
const UNIQUE_ID = /^A(?:IDA|ROA)[A-Z0-9]{12,}$/;
const DNS_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;
const CANONICAL_USER = /^[0-9a-f]{64}$/;
// What an AWS principal ARN may name (IAM User Guide, "IAM JSON policy elements: Principal"): the
// account (`root`), a user or a role (with a path), a role session or a federated user session. A
// user group is not a principal (groups grant permissions, they do not authenticate), nor is a
// policy, an instance profile or an identity provider.
const IAM_PRINCIPAL = /^(?:root|(?:user|role)\/(?:[^/]+\/)*[^/]+)$/;
const STS_PRINCIPAL = /^(?:assumed-role\/[^/]+\/[^/]+|federated-user\/[^/]+)$/;

/** Returns why a value is malformed for its principal type, or undefined when it is fine. */
function checkPrincipalValue(type: PrincipalType, value: string): string | undefined {
  if (value.trim() !== value) return `"${value}" has a blank at its start or end, which no principal name has: write "${value.trim()}"`;
  switch (type) {
    case 'AWS': {
      if (value === '*' || ACCOUNT_ID.test(value) || UNIQUE_ID.test(value)) return undefined;
      if (value.includes('*') || value.includes('?')) {
        return `wildcards are not allowed in an AWS principal ("${value}"): use "*" with a condition on aws:PrincipalArn`;
      }
      const arn = parseArn(value);
      if (!arn) return `"${value}" is neither "*", a 12-digit account id, nor an ARN`;
      if (arn.service !== 'iam' && arn.service !== 'sts') return `"${value}" is not an IAM or STS principal ARN`;
      if (!ACCOUNT_ID.test(arn.account)) return `"${value}" does not name a 12-digit account`;
      if (!(arn.service === 'iam' ? IAM_PRINCIPAL : STS_PRINCIPAL).test(arn.resource)) {
        return `"${value}" names no principal: use an account (root), a user, a role, a role session or a federated user; a group cannot be a principal`;
      }
      return undefined;
    }
    case 'Service':
      return DNS_NAME.test(value) ? undefined : `"${value}" is not a service principal name such as "ec2.amazonaws.com"`;
    case 'Federated': {
      if (DNS_NAME.test(value)) return undefined;
      const arn = parseArn(value);
      if (arn && arn.service === 'iam' && /^(?:saml|oidc)-provider\/./.test(arn.resource)) return undefined;
      return `"${value}" is neither an identity provider domain nor a saml-provider/oidc-provider ARN`;
    }
    case 'CanonicalUser':
      return CANONICAL_USER.test(value) ? undefined : `"${value}" is not a 64-hex-digit canonical user id`;
  }
}

/** Reads a Principal / NotPrincipal element at `path`; undefined when it is unusable. */
export function readPrincipal(value: unknown, path: string, element: string, sink: FindingSink): PrincipalSpec | undefined {
  if (value === '*') return '*';
  if (typeof value === 'string') {
    sink.add('INVALID_PRINCIPAL', path, `a ${element} string must be "*"; name principals as {"AWS": ...}, {"Service": ...}`);
    return undefined;
  }
  if (!isJsonObject(value)) {
    sink.add('DATA_TYPE_MISMATCH', path, `${element} must be "*" or an object, not ${jsonTypeName(value)}`);
    return undefined;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) {
    sink.add('EMPTY_PRINCIPAL', path, `${element} names no principal: use "*" or list AWS, Service, Federated or CanonicalUser`);
    return undefined;
  }
  const spec: Partial<Record<PrincipalType, string[]>> = {};
  for (const [key, raw] of entries) {
    const at = childPath(path, key);
    const type = PRINCIPAL_TYPES.find((t) => t === key);
    if (!type) {
      const sameButCase = PRINCIPAL_TYPES.find((t) => t.toLowerCase() === key.toLowerCase());
      const hint = sameButCase ? ` (principal types are case-sensitive: did you mean "${sameButCase}"?)` : '';
      sink.add('INVALID_PRINCIPAL_KEY', at, `"${key}" is not a principal type: use AWS, Service, Federated or CanonicalUser${hint}`);
      continue;
    }
    const values = readStringList(raw, at, `${element}.${key}`, sink) ?? [];
    for (const v of values) {
      if (!checkNoVariable(v.value, v.path, element, sink)) continue;
      const problem = checkPrincipalValue(type, v.value);
      if (problem) sink.add('INVALID_PRINCIPAL', v.path, problem);
    }
    spec[type] = values.map((v) => v.value);
  }
  return spec;
}
