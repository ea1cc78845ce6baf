// Digests of policy documents and of policy sets. A set's fingerprint changes whenever anything a
// decision about its principal depends on changes (a document, a group membership, a boundary, a
// session policy), and only then: the decision cache keys on it.
import { createHash } from 'node:crypto';
import { compilePolicy, mergePolicies, type CompiledPolicy, type Json, type ParsedPolicy, type PolicyKind, type PolicySet } from '../policy/index.js';
import type { PolicyRef } from './types.js';

/** JSON with object keys sorted, so equal documents give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** Compiles a parsed policy under a name and kind, with the digest of its source. */
export function compileRef(parsed: ParsedPolicy, document: Json | unknown, name: string, kind: PolicyKind): PolicyRef {
  return { compiled: compilePolicy(parsed, name, kind), digest: sha256(`${kind}\u0000${name}\u0000${canonicalJson(document)}`) };
}

export interface SetParts {
  readonly identity: readonly PolicyRef[];
  readonly boundary?: PolicyRef | undefined;
  readonly session?: readonly PolicyRef[] | undefined;
}

/**
 * Assembles a PolicySet and its fingerprint from compiled parts. The identity policies are merged
 * into one index (`mergePolicies`; a lone policy is its own index): every decision about the
 * principal looks its action up once whatever their number, on the form the engine is measured on.
 * `indexes`, given while a directory is built, shares one index among the principals whose identity
 * policies are the same list (many users of a few groups): an index costs memory in proportion to
 * its statements, so a directory of 100,000 users holds one per combination, not one per user.
 */
export function buildPolicySet(parts: SetParts, indexes?: Map<string, CompiledPolicy>): { policySet: PolicySet; fingerprint: string } {
  const lines = [
    ...parts.identity.map((p) => `i:${p.digest}`),
    ...(parts.boundary ? [`b:${parts.boundary.digest}`] : []),
    ...(parts.session ?? []).map((p) => `s:${p.digest}`),
  ];
  const policySet: PolicySet = {
    identity: parts.identity.map((p) => p.compiled),
    ...(parts.identity.length > 0 ? { identityIndex: identityIndexOf(parts.identity, indexes) } : {}),
    ...(parts.boundary ? { boundary: parts.boundary.compiled } : {}),
    ...(parts.session && parts.session.length > 0 ? { session: parts.session.map((p) => p.compiled) } : {}),
  };
  return { policySet, fingerprint: sha256(lines.join('\n')) };
}

/** The merged index of identity policies, taken from `indexes` when the same list was merged before. */
function identityIndexOf(identity: readonly PolicyRef[], indexes: Map<string, CompiledPolicy> | undefined): CompiledPolicy {
  if (!indexes) return mergePolicies(identity.map((p) => p.compiled), 'identity');
  // A digest names a policy's kind, name and canonical document, so equal lists compile alike.
  const key = identity.map((p) => p.digest).join('\n');
  let index = indexes.get(key);
  if (!index) indexes.set(key, (index = mergePolicies(identity.map((p) => p.compiled), 'identity')));
  return index;
}
