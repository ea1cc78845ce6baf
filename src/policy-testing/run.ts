// Running policy test suites: each case decided offline against its suite's policy folder and
// compared with what it expects. A case that fails carries the explanation of what happened.
import { statementLabel } from '../policy/index.js';
import { decideOffline, resolvePrincipal, type OfflineDecision, type PrincipalSpec } from './decide.js';
import type { TestCase, TestSuite } from './suite.js';
import type { PolicyWorld } from './world.js';

export interface CaseResult {
  readonly name: string;
  readonly file: string;
  readonly passed: boolean;
  /** What differed from the expectation, one sentence each; empty when the case passed. */
  readonly failures: readonly string[];
  /** The decision made, or undefined when the principal is not in the directory. */
  readonly actual?: OfflineDecision;
}

/** A bare name is a user when the directory has one by that name, else a role; `arn:` is an ARN. */
function specOf(world: PolicyWorld, principal: string | PrincipalSpec): PrincipalSpec {
  if (typeof principal !== 'string') return principal;
  if (principal.startsWith('arn:')) return { arn: principal };
  return world.directory.users.has(principal) ? { user: principal } : { role: principal };
}

function describe(d: OfflineDecision): string {
  return `${d.decision} (${d.reason})`;
}

/** Whether the deciding statements include `wanted` (`policy:Sid`, `policy:Statement[i]` or a policy name). */
function decidedBy(d: OfflineDecision, wanted: string): boolean {
  return (d.engine?.matched ?? []).some((m) => statementLabel(m) === wanted || m.policy === wanted);
}

/** Runs one case against a loaded policy folder. */
export function runCase(world: PolicyWorld, suite: TestSuite, c: TestCase, now: number): CaseResult {
  const spec = specOf(world, c.principal);
  const principal = resolvePrincipal(world, spec, now);
  if (!principal) {
    const who = typeof c.principal === 'string' ? c.principal : (c.principal.user ?? c.principal.role ?? c.principal.arn);
    return { name: c.name, file: suite.file, passed: false, failures: [`${c.path}.principal: "${who}" is not a user or role of the directory (or its session policy is invalid)`] };
  }
  // An ARN the reader could not tell from a role's may name a user, who has no session to carry a
  // source identity: deciding without it would pass a case written for a session that has one.
  if (spec.sourceIdentity !== undefined && principal.sourceIdentity === undefined) {
    return { name: c.name, file: suite.file, passed: false, failures: [`${c.path}.principal.sourceIdentity: only role sessions carry a source identity, and ${principal.arn} is not one`] };
  }
  const d = decideOffline(world, principal, c.request, c.context, now);
  const failures: string[] = [];
  const decisionOk = c.expect === 'Deny' ? d.decision !== 'Allow' : d.decision === c.expect;
  if (!decisionOk) failures.push(`expected ${c.expect}, got ${describe(d)}`);
  if (c.statement !== undefined && !decidedBy(d, c.statement)) {
    const by = (d.engine?.matched ?? []).map(statementLabel);
    failures.push(`expected the decision to come from ${c.statement}, it came from ${by.length > 0 ? by.join(', ') : 'no statement'}`);
  }
  if (c.reason !== undefined && c.reason !== d.reason && c.reason !== d.engine?.implicitReason) {
    failures.push(`expected reason ${c.reason}, got ${d.engine?.implicitReason ? `${d.reason} (${d.engine.implicitReason})` : d.reason}`);
  }
  return { name: c.name, file: suite.file, passed: failures.length === 0, failures, actual: d };
}

export interface RunSummary {
  readonly results: readonly CaseResult[];
  readonly passed: number;
  readonly failed: number;
}

/** Runs every case of every suite; `worlds` holds each suite's policy folder, loaded once. */
export function runSuites(suites: readonly TestSuite[], worlds: ReadonlyMap<string, PolicyWorld>, now: number): RunSummary {
  const results: CaseResult[] = [];
  for (const suite of suites) {
    const world = worlds.get(suite.policies);
    if (!world) throw new TypeError(`no policy folder loaded for ${suite.policies}`);
    for (const c of suite.cases) results.push(runCase(world, suite, c, now));
  }
  const passed = results.filter((r) => r.passed).length;
  return { results, passed, failed: results.length - passed };
}
