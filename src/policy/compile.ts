// Compiles a parsed policy into matchers indexed by action, once, so that a decision visits only
// the statements that can match its action and parses nothing.
import { patternAccount } from './account.js';
import { compileConditions, type CompiledConditions } from './conditions/compile.js';
import { soleDecision } from './decisions.js';
import { compileNotPrincipal, compilePrincipal, type PrincipalInfo, type PrincipalMatcher } from './principal.js';
import { compileResourcePattern, compileSpanningResourcePattern, type CompiledPattern } from './variables.js';
import { compileWildcard } from './wildcard.js';
import type { Decision, ParsedPolicy, ParsedStatement, PolicyKind, RequestContext, StatementRef } from './types.js';

export interface CompiledStatement {
  readonly ref: StatementRef;
  readonly deny: boolean;
  /** The decision this statement makes when it alone decides (a grant, or the only Deny that matched). */
  readonly sole: Decision;
  /** Full action test on a lower-cased action (Action or NotAction). */
  readonly matchesAction: (actionLower: string) => boolean;
  readonly matchesResource: (resource: string, ctx: RequestContext) => boolean;
  /** The account of every resource this statement's Resource element can match, when it fixes one. */
  readonly resourceAccount: string | undefined;
  /** Principal of a resource policy; undefined elsewhere. */
  readonly principal: PrincipalMatcher | undefined;
  /**
   * NotPrincipal of a resource policy's Deny: whether the caller is left out of the statement. It
   * never leaves out a caller with a permissions boundary, as the IAM User Guide warns.
   */
  readonly excludes: ((p: PrincipalInfo) => boolean) | undefined;
  readonly conditions: CompiledConditions | undefined;
}

/** Statements of one service: those naming an exact action, and those with wildcards in the action name. */
interface ServiceBucket {
  readonly exact: Map<string, CompiledStatement[]>;
  readonly wild: CompiledStatement[];
}

export interface CompiledPolicy {
  readonly name: string;
  readonly kind: PolicyKind;
  /** Lower-case context keys this policy can read (conditions and variables). */
  readonly keys: readonly string[];
  readonly statements: readonly CompiledStatement[];
  /** Whether an Allow statement carries conditions: only such a statement can be a near miss. */
  readonly conditionalAllows: boolean;
  /** @internal action index: lower-case service prefix → bucket. */
  readonly byService: ReadonlyMap<string, ServiceBucket>;
  /** @internal statements that may match any service (`*`, wildcard service, NotAction). */
  readonly anyService: readonly CompiledStatement[];
  /** The statements whose Action / NotAction matches an action (as written, any case), memoised. */
  readonly lookup: (action: string) => readonly CompiledStatement[];
}

/** Bound on memoised actions per policy: route maps name a bounded set; anything beyond is computed. */
const LOOKUP_MEMO_LIMIT = 4096;

/** Builds the memoised action lookup over an action index. */
function createLookup(
  byService: ReadonlyMap<string, ServiceBucket>,
  anyService: readonly CompiledStatement[],
): (action: string) => readonly CompiledStatement[] {
  const memo = new Map<string, readonly CompiledStatement[]>();
  const compute = (action: string): readonly CompiledStatement[] => {
    const lower = action.toLowerCase();
    const colon = lower.indexOf(':');
    const bucket = byService.get(colon < 0 ? lower : lower.slice(0, colon));
    const out: CompiledStatement[] = [...(bucket?.exact.get(lower) ?? [])];
    for (const s of bucket?.wild ?? []) if (s.matchesAction(lower)) out.push(s);
    for (const s of anyService) if (s.matchesAction(lower)) out.push(s);
    return out;
  };
  return (action) => {
    let hit = memo.get(action);
    if (hit === undefined) {
      hit = compute(action);
      if (memo.size < LOOKUP_MEMO_LIMIT) memo.set(action, hit);
    }
    return hit;
  };
}

const ALWAYS = (): boolean => true;
const NEVER = (): boolean => false;

function compileActions(patterns: readonly string[], negate: boolean): (actionLower: string) => boolean {
  const lower = patterns.map((p) => p.toLowerCase());
  if (lower.includes('*')) return negate ? NEVER : ALWAYS;
  const exact = new Set(lower.filter((p) => !/[*?]/.test(p)));
  const wild = lower.filter((p) => /[*?]/.test(p)).map((p) => compileWildcard(p, false));
  const test = (a: string): boolean => {
    if (exact.has(a)) return true;
    for (const m of wild) if (m(a)) return true;
    return false;
  };
  return negate ? (a) => !test(a) : test;
}

function compileResources(
  statement: ParsedStatement,
  version: ParsedPolicy['version'],
): { test: (resource: string, ctx: RequestContext) => boolean; keys: readonly string[] } {
  const patterns = statement.resource ?? statement.notResource;
  // Trust policies carry no Resource element: the statement applies to the role it is attached to.
  if (!patterns) return { test: ALWAYS, keys: [] };
  const negate = statement.resource === undefined;
  if (patterns.includes('*')) return { test: negate ? NEVER : ALWAYS, keys: [] };
  // The Resource page lets a `*` that closes an ARN segment "expand to match beyond colon
  // boundaries" without saying how far. A Deny's Resource (and an Allow's NotResource, which grants
  // what it does not match) reads every `*` as running across colons, as StringLike does: the
  // reading under which the statement denies the most. An Allow's Resource (and a Deny's
  // NotResource) keeps each `*` inside its segment but for one closing a cut-short pattern.
  const spanColons = (statement.effect === 'Deny') !== negate;
  const compiled = patterns.map((p) => (spanColons ? compileSpanningResourcePattern(p, version) : compileResourcePattern(p, version)));
  const keys = compiled.flatMap((c) => c.keys);
  const only = compiled.length === 1 ? compiled[0] : undefined;
  const anyMatches = only
    ? only.test
    : (resource: string, ctx: RequestContext): boolean => {
        for (let i = 0; i < compiled.length; i++) if ((compiled[i] as CompiledPattern).test(resource, ctx)) return true;
        return false;
      };
  return { test: negate ? (r, ctx) => !anyMatches(r, ctx) : anyMatches, keys };
}

/**
 * The NotPrincipal test of a statement. IAM supports NotPrincipal only with Deny and the
 * validator refuses it with Allow; should such a statement reach here, it leaves every caller
 * out, so it grants nothing.
 */
function compileExcludes(statement: ParsedStatement): (p: PrincipalInfo) => boolean {
  if (statement.effect !== 'Deny' || !statement.notPrincipal) return ALWAYS;
  return compileNotPrincipal(statement.notPrincipal);
}

function compileStatement(
  statement: ParsedStatement,
  policy: ParsedPolicy,
  name: string,
  kind: PolicyKind,
): { compiled: CompiledStatement; keys: readonly string[] } {
  const ref: StatementRef =
    statement.sid === undefined
      ? { policy: name, kind, index: statement.index, effect: statement.effect }
      : { policy: name, kind, index: statement.index, sid: statement.sid, effect: statement.effect };
  const actions = statement.action ?? statement.notAction ?? [];
  const resources = compileResources(statement, policy.version);
  const conditions =
    statement.conditions.length > 0
      ? compileConditions(statement.conditions, policy.version, statement.effect)
      : undefined;
  // Only resource-based (and trust) policies name principals; elsewhere the element is invalid
  // and ignored here (the validator reports it).
  const resourcePolicy = kind === 'resource';
  const compiled: CompiledStatement = {
    ref,
    deny: statement.effect === 'Deny',
    sole: soleDecision(ref),
    matchesAction: compileActions(actions, statement.action === undefined),
    matchesResource: resources.test,
    resourceAccount: statement.resource ? patternAccount(statement.resource) : undefined,
    principal: resourcePolicy && statement.principal ? compilePrincipal(statement.principal) : undefined,
    excludes: resourcePolicy && !statement.principal && statement.notPrincipal ? compileExcludes(statement) : undefined,
    conditions,
  };
  return { compiled, keys: [...resources.keys, ...(conditions?.keys ?? [])] };
}

function serviceOf(patternLower: string): string | undefined {
  const colon = patternLower.indexOf(':');
  if (colon <= 0) return undefined;
  const service = patternLower.slice(0, colon);
  return /[*?]/.test(service) ? undefined : service;
}

function bucketFor(index: Map<string, ServiceBucket>, service: string): ServiceBucket {
  let bucket = index.get(service);
  if (!bucket) {
    bucket = { exact: new Map(), wild: [] };
    index.set(service, bucket);
  }
  return bucket;
}

/** Places a statement in the action index so that a lookup visits it at most once. */
function indexStatement(
  statement: ParsedStatement,
  compiled: CompiledStatement,
  index: Map<string, ServiceBucket>,
  anyService: CompiledStatement[],
): void {
  const actions = (statement.action ?? []).map((a) => a.toLowerCase());
  const services = actions.map(serviceOf);
  if (statement.action === undefined || services.includes(undefined)) {
    anyService.push(compiled);
    return;
  }
  const byService = new Map<string, string[]>();
  actions.forEach((a, i) => {
    const service = services[i] as string;
    byService.set(service, [...(byService.get(service) ?? []), a]);
  });
  for (const [service, names] of byService) {
    const bucket = bucketFor(index, service);
    if (names.some((n) => /[*?]/.test(n))) {
      bucket.wild.push(compiled);
      continue;
    }
    for (const n of new Set(names)) {
      const list = bucket.exact.get(n);
      if (list) list.push(compiled);
      else bucket.exact.set(n, [compiled]);
    }
  }
}

/** Compiles a validated policy document, named for explanations (`identity[0]`, a managed policy's name). */
export function compilePolicy(policy: ParsedPolicy, name: string, kind: PolicyKind): CompiledPolicy {
  const byService = new Map<string, ServiceBucket>();
  const anyService: CompiledStatement[] = [];
  const statements: CompiledStatement[] = [];
  const keys = new Set<string>();
  for (const statement of policy.statements) {
    const { compiled, keys: statementKeys } = compileStatement(statement, policy, name, kind);
    statements.push(compiled);
    for (const k of statementKeys) keys.add(k);
    indexStatement(statement, compiled, byService, anyService);
  }
  return {
    name,
    kind,
    keys: [...keys].sort(),
    statements,
    conditionalAllows: statements.some((s) => !s.deny && s.conditions !== undefined),
    byService,
    anyService,
    lookup: createLookup(byService, anyService),
  };
}

/**
 * Merges policies of one kind (a principal's identity policies) into one index, so a decision
 * looks the action up once instead of once per policy. Statements keep their own policy names,
 * so explanations are unchanged; the merged policy allows exactly when one of its parts does.
 */
export function mergePolicies(policies: readonly CompiledPolicy[], name: string): CompiledPolicy {
  const first = policies[0];
  if (policies.length === 1 && first) return first;
  const byService = new Map<string, ServiceBucket>();
  const anyService: CompiledStatement[] = [];
  const keys = new Set<string>();
  for (const policy of policies) {
    for (const k of policy.keys) keys.add(k);
    anyService.push(...policy.anyService);
    for (const [service, bucket] of policy.byService) {
      const merged = bucketFor(byService, service);
      merged.wild.push(...bucket.wild);
      for (const [action, list] of bucket.exact) {
        const existing = merged.exact.get(action);
        if (existing) existing.push(...list);
        else merged.exact.set(action, [...list]);
      }
    }
  }
  return {
    name,
    kind: first?.kind ?? 'identity',
    keys: [...keys].sort(),
    statements: policies.flatMap((p) => p.statements),
    conditionalAllows: policies.some((p) => p.conditionalAllows),
    byService,
    anyService,
    lookup: createLookup(byService, anyService),
  };
}
