// Runs raw policy documents and a request through the engine's public API, strictly: a document
// with an error finding is a broken test input, not a deny. Shared by the conformance cases and
// the property tests; the documents and request have the `simulate --cases` shape.
import { compilePolicy, createContext, evaluate, parsePolicy } from '../../src/policy/index.js';
import type { CompiledPolicy, Decision, PolicyKind, PolicySet } from '../../src/policy/index.js';
import type { ReferencePolicies, ReferenceRequest } from './reference.js';

/** Parses and compiles one document, throwing with the findings when it has errors. */
export function compileStrict(doc: unknown, name: string, kind: PolicyKind, trust = false): CompiledPolicy {
  const { policy, findings } = parsePolicy(doc, { kind, trust });
  const errors = findings.filter((f) => f.severity === 'error');
  if (!policy || errors.length > 0) {
    const why = errors.map((e) => `${e.code} at ${e.path}: ${e.message}`).join('; ');
    throw new Error(`${name} does not parse: ${why} in ${JSON.stringify(doc)}`);
  }
  return compilePolicy(policy, name, kind);
}

/** The policy set of a case, labelled by position (`identity[0]`, `boundary`, `scp[1]`...). */
export function compileSet(p: ReferencePolicies): PolicySet {
  return compileSetFor(p, false);
}

/**
 * `compileSet`, with the resource policy read as a role's trust policy when `trust` is set, as
 * simulate reads it for `sts:AssumeRole*`.
 */
function compileSetFor(p: ReferencePolicies, trust: boolean): PolicySet {
  const many = (docs: readonly unknown[], label: string, kind: PolicyKind): CompiledPolicy[] =>
    docs.map((d, i) => compileStrict(d, `${label}[${i}]`, kind));
  return {
    identity: many(p.identity, 'identity', 'identity'),
    ...(p.boundary !== undefined ? { boundary: compileStrict(p.boundary, 'boundary', 'boundary') } : {}),
    ...(p.resource !== undefined ? { resource: compileStrict(p.resource, 'resource', 'resource', trust) } : {}),
    ...(p.scp !== undefined ? { scp: many(p.scp, 'scp', 'scp') } : {}),
    ...(p.rcp !== undefined ? { rcp: many(p.rcp, 'rcp', 'rcp') } : {}),
    ...(p.session !== undefined ? { session: many(p.session, 'session', 'session') } : {}),
  };
}

/** The engine's decision on a case. */
export function engineDecide(policies: ReferencePolicies, request: ReferenceRequest): Decision {
  const trust = request.action.toLowerCase().startsWith('sts:assumerole');
  return evaluate(compileSetFor(policies, trust), { ...request, context: createContext(request.context) });
}
