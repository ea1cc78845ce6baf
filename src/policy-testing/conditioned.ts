// The statements with conditions that can change a decision about one action on one resource: a
// request that the matrix decides one way may be decided the other way from another address, at
// another time, with a second factor or a fresher one. Comparing these statements, as written,
// between two policy versions is what finds a change that the sampled request does not see.
import { canonicalJson, type Directory } from '../identity/index.js';
import type { AuthzRequest, CompiledPolicy, PolicySet } from '../policy/index.js';

export interface Conditioned {
  /** Condition keys those statements read, as written (sorted, each once whatever its case). */
  readonly keys: readonly string[];
  /** Each statement as written, with its policy type: equal lists decide every context alike. */
  readonly statements: readonly string[];
}

const NONE: Conditioned = { keys: [], statements: [] };

type Tier = { readonly name: string; readonly policies: readonly CompiledPolicy[]; readonly required: boolean };

/** How each compiled policy of a directory was written: its document where the directory keeps one, else its digest. */
export type WrittenForms = ReadonlyMap<CompiledPolicy, { readonly document?: unknown; readonly digest: string }>;

/** The written forms of every policy of a directory: built once per loaded folder, not once per question. */
export function writtenForms(directory: Directory): WrittenForms {
  const forms = new Map<CompiledPolicy, { document?: unknown; digest: string }>();
  for (const m of directory.policies.values()) forms.set(m.ref.compiled, { document: m.document, digest: m.ref.digest });
  const refs = [
    directory.mfaRequiredPolicy,
    ...[...directory.groups.values()].flatMap((g) => g.policies),
    ...[...directory.users.values()].flatMap((u) => [...u.policies, ...(u.boundary ? [u.boundary] : [])]),
    ...[...directory.roles.values()].flatMap((r) => [...r.policies, r.trust, ...(r.boundary ? [r.boundary] : [])]),
  ];
  for (const ref of refs) if (!forms.has(ref.compiled)) forms.set(ref.compiled, { digest: ref.digest });
  return forms;
}

/** The Condition keys of a statement as written: `{Bool: {"aws:MultiFactorAuthPresent": ...}}` → its key names. */
function writtenKeys(statement: unknown): string[] {
  const condition = (statement as { Condition?: unknown } | null)?.Condition;
  if (condition === null || typeof condition !== 'object') return [];
  return Object.values(condition as Record<string, unknown>).flatMap((block) => (block !== null && typeof block === 'object' ? Object.keys(block) : []));
}

function statementAt(document: unknown, index: number): unknown {
  const statements = (document as { Statement?: unknown } | null)?.Statement;
  return Array.isArray(statements) ? statements[index] : statements;
}

/**
 * The statements with conditions whose Action and Resource match the request, from every policy
 * of the set that can still change its decision: none when an unconditional Deny applies or a
 * policy type that must allow has nothing that could (the request is denied in every context);
 * otherwise every conditional Deny, and the conditional Allows of each type with no unconditional
 * Allow of its own.
 */
export function conditionedStatements(forms: WrittenForms, set: PolicySet, request: AuthzRequest): Conditioned {
  const tiers: Tier[] = [
    { name: 'identity', policies: set.identity, required: set.resource === undefined },
    ...(set.boundary ? [{ name: 'boundary', policies: [set.boundary], required: true }] : []),
    ...(set.resource ? [{ name: 'resource', policies: [set.resource], required: false }] : []),
    ...(set.scp ?? []).map((p, i) => ({ name: `scp[${i}]`, policies: [p], required: true })),
    ...(set.rcp ?? []).map((p, i) => ({ name: `rcp[${i}]`, policies: [p], required: false })),
    ...(set.session ? [{ name: 'session', policies: set.session, required: true }] : []),
  ];
  const action = request.action.toLowerCase();
  const keys = new Map<string, string>();
  const statements: string[] = [];
  const conditional: { tier: string; policy: CompiledPolicy; index: number; deny: boolean; keys: readonly string[] }[] = [];
  const unconditionalAllow = new Set<string>();
  for (const tier of tiers) {
    let mayAllow = false;
    for (const policy of tier.policies) {
      for (const [index, s] of policy.statements.entries()) {
        if (!s.matchesAction(action) || !s.matchesResource(request.resource, request.context)) continue;
        if (!s.conditions) {
          if (s.deny) return NONE;
          unconditionalAllow.add(tier.name);
        } else conditional.push({ tier: tier.name, policy, index, deny: s.deny, keys: s.conditions.keys });
        if (!s.deny) mayAllow = true;
      }
    }
    if (tier.required && !mayAllow) return NONE;
  }
  for (const c of conditional) {
    if (!c.deny && unconditionalAllow.has(c.tier)) continue;
    const form = forms.get(c.policy);
    const written = form?.document !== undefined ? statementAt(form.document, c.index) : undefined;
    statements.push(`${c.tier} ${c.deny ? 'Deny' : 'Allow'} ${written !== undefined ? canonicalJson(written) : `${c.policy.name}#${c.index}@${form?.digest ?? ''}`}`);
    for (const key of written !== undefined ? writtenKeys(written) : c.keys) if (!keys.has(key.toLowerCase())) keys.set(key.toLowerCase(), key);
  }
  if (statements.length === 0) return NONE;
  return { keys: [...keys.values()].sort(), statements: statements.sort() };
}
