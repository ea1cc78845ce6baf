// A slow, deliberately plain model of IAM policy evaluation, written from AWS's documentation
// without any code from src/policy (only its types). Property tests compare the engine with it.
//
// It reads raw policy documents, matches wildcards by naive recursion, matches ARNs component by
// component, and supports a subset of condition operators: StringEquals, StringNotEquals,
// StringLike, NumericLessThan (exact decimals), Bool and Null, the IfExists suffix, and ForAnyValue/ForAllValues
// on the string operators. Anything outside that subset throws `Unsupported`, so a caller can
// never mistake "not modelled" for a decision.
import type { ContextScalar, ContextValue, DecisionKind } from '../../src/policy/types.js';

export class Unsupported extends Error {}

export interface ReferenceRequest {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, ContextValue>>;
}

/** Raw policy documents, by where they sit in the evaluation logic (the simulate case format). */
export interface ReferencePolicies {
  readonly identity: readonly unknown[];
  readonly boundary?: unknown;
  readonly resource?: unknown;
  readonly scp?: readonly unknown[];
  /** Resource control policies of the resource's organization levels: they only ever deny. */
  readonly rcp?: readonly unknown[];
  readonly session?: readonly unknown[];
}

// ------------------------------------------------------------------ wildcards

/** `*` is any run of characters, `?` exactly one; by plain recursion, as slow as it looks. */
export function naiveWildcard(pattern: string, text: string): boolean {
  if (pattern === '') return text === '';
  const head = pattern[0];
  if (head === '*') return naiveWildcard(pattern.slice(1), text) || (text !== '' && naiveWildcard(pattern, text.slice(1)));
  if (text === '') return false;
  if (head === '?' || head === text[0]) return naiveWildcard(pattern.slice(1), text.slice(1));
  return false;
}

/** Splits an ARN into its five leading components and the resource part (which may hold colons). */
function arnParts(s: string): string[] | undefined {
  const parts = s.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/**
 * Resource element matching: "*" is everything; otherwise component by component, case-sensitive.
 * A pattern cut short after at least its service whose last segment ends with `*` lets that
 * segment run over the rest of the ARN, colons included (IAM User Guide, Resource element: a `*`
 * that is the last character of a segment can expand beyond colon boundaries).
 */
function resourceMatches(pattern: string, resource: string): boolean {
  if (pattern === '*') return true;
  const r = arnParts(resource);
  const short = pattern.split(':');
  if (short.length >= 3 && short.length < 6 && short[0] === 'arn' && pattern.endsWith('*')) {
    const whole = resource.split(':');
    const last = short.length - 1;
    return (
      short.slice(0, last).every((seg, i) => naiveWildcard(seg, whole[i] ?? '')) &&
      naiveWildcard(short[last] ?? '', whole.slice(last).join(':'))
    );
  }
  const p = arnParts(pattern);
  if (!p || !r) return naiveWildcard(pattern, resource);
  return p.every((seg, i) => naiveWildcard(seg, r[i] ?? ''));
}

function actionMatches(pattern: string, action: string): boolean {
  return naiveWildcard(pattern.toLowerCase(), action.toLowerCase());
}

// ------------------------------------------------------------------ principals

type PrincipalKind = 'user' | 'role-session' | 'federated' | 'other';

interface Caller {
  readonly arn: string;
  readonly account: string;
  readonly kind: PrincipalKind;
  /** For a role session, the ARN of the role it came from, without the role's path. */
  readonly roleArn?: string;
}

/**
 * Whether a Principal entry is the role of a role session: a role ARN of the session's account
 * whose name, the last part of its path, is the session's role. Role names are unique in an
 * account whatever their path, and a session ARN carries the name only.
 */
function namesRole(entry: string, caller: Caller): boolean {
  if (caller.roleArn === undefined) return false;
  const prefix = caller.roleArn.slice(0, caller.roleArn.indexOf(':role/') + ':role/'.length);
  const name = caller.roleArn.slice(prefix.length);
  return entry.startsWith(prefix) && entry.slice(entry.lastIndexOf('/') + 1) === name;
}

function describeCaller(arn: string): Caller {
  const parts = arnParts(arn);
  const account = parts?.[4] ?? '';
  const res = parts?.[5] ?? '';
  if (parts?.[2] === 'iam' && res.startsWith('user/')) return { arn, account, kind: 'user' };
  if (parts?.[2] === 'sts' && res.startsWith('assumed-role/')) {
    const role = res.split('/')[1] ?? '';
    return { arn, account, kind: 'role-session', roleArn: `arn:${parts[1]}:iam::${account}:role/${role}` };
  }
  if (parts?.[2] === 'sts' && res.startsWith('federated-user/')) return { arn, account, kind: 'federated' };
  return { arn, account, kind: 'other' };
}

/** How a Principal entry names the caller: a higher grade is a more direct grant. */
const Grade = { None: 0, Account: 1, Role: 2, Direct: 3 } as const;
type Grade = (typeof Grade)[keyof typeof Grade];

function better(a: Grade, b: Grade): Grade {
  return a >= b ? a : b;
}

function gradeEntry(entry: string, caller: Caller): Grade {
  if (entry === '*' || entry === caller.arn) return Grade.Direct;
  if (namesRole(entry, caller)) return Grade.Role;
  if (entry === caller.account || entry === `arn:aws:iam::${caller.account}:root`) return Grade.Account;
  return Grade.None;
}

/**
 * Every name a Principal element lists, of all four types: an AWS entry may name the caller, its
 * role or its account; a Service, Federated or CanonicalUser entry names only a caller that
 * carries that very name (a service calling as itself, an identity provider).
 */
function principalEntries(spec: unknown): string[] {
  if (spec === '*') return ['*'];
  if (typeof spec !== 'object' || spec === null) return [];
  const types = spec as Record<string, unknown>;
  return ['AWS', 'Service', 'Federated', 'CanonicalUser'].flatMap((type) => list(types[type]) ?? []);
}

/** Best grade with which a Principal element names the caller. */
function gradePrincipal(spec: unknown, caller: Caller): Grade {
  return principalEntries(spec).reduce<Grade>((best, e) => better(best, gradeEntry(e, caller)), Grade.None);
}

/**
 * Whether the NotPrincipal of a Deny leaves the caller out of its statement ("AWS JSON policy
 * elements: NotPrincipal"): only when every identity AWS may check for it is listed, its account,
 * its role (for a role session) and the caller itself; and never when the caller has a
 * permissions boundary, which such a Deny "will always deny ... regardless of the values
 * specified". IAM supports NotPrincipal only with Deny.
 */
function notPrincipalExcludes(spec: unknown, caller: Caller, bounded: boolean): boolean {
  if (bounded) return false;
  const entries = principalEntries(spec);
  if (entries.includes('*')) return true;
  const accountListed = entries.includes(caller.account) || entries.includes(`arn:aws:iam::${caller.account}:root`);
  const roleListed = entries.some((e) => namesRole(e, caller));
  const selfListed = entries.includes(caller.arn);
  return accountListed && (caller.roleArn === undefined || roleListed) && selfListed;
}

// ------------------------------------------------------------------ documents

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly action?: string[];
  readonly notAction?: string[];
  readonly resource?: string[];
  readonly notResource?: string[];
  readonly principal?: unknown;
  readonly notPrincipal?: unknown;
  readonly conditions: readonly (readonly [string, string, readonly ContextScalar[]])[];
}

function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

function scalars(v: unknown): ContextScalar[] {
  const items: unknown[] = Array.isArray(v) ? v : [v];
  return items.map((x) => (typeof x === 'number' || typeof x === 'boolean' ? x : String(x)));
}

function statements(doc: unknown): Statement[] {
  if (typeof doc !== 'object' || doc === null) throw new Unsupported('policy is not an object');
  const d = doc as Record<string, unknown>;
  const variables = d['Version'] === '2012-10-17';
  const raw = d['Statement'];
  const items: unknown[] = Array.isArray(raw) ? raw : [raw];
  return items.map((item) => {
    const s = item as Record<string, unknown>;
    const conditions: [string, string, ContextScalar[]][] = [];
    const block = (s['Condition'] ?? {}) as Record<string, Record<string, unknown>>;
    for (const [op, keys] of Object.entries(block)) {
      for (const [key, values] of Object.entries(keys)) conditions.push([op, key, scalars(values)]);
    }
    const st: Statement = {
      effect: s['Effect'] === 'Deny' ? 'Deny' : 'Allow',
      ...optional('action', list(s['Action'])),
      ...optional('notAction', list(s['NotAction'])),
      ...optional('resource', list(s['Resource'])),
      ...optional('notResource', list(s['NotResource'])),
      ...optional('principal', s['Principal']),
      ...optional('notPrincipal', s['NotPrincipal']),
      conditions,
    };
    if (variables) {
      const texts = [...(st.resource ?? []), ...(st.notResource ?? []), ...conditions.flatMap(([, , v]) => v.map(String))];
      if (texts.some((t) => t.includes('${'))) throw new Unsupported('policy variables');
    }
    return st;
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

// ------------------------------------------------------------------ conditions

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The order of two decimal numbers in text, exactly: both scaled to integers as BigInt. */
export function decimalOrder(a: string, b: string): number {
  const scaled = (text: string, scale: number): bigint => {
    const [mantissa = '', power = '0'] = text.toLowerCase().split('e');
    const negative = mantissa.startsWith('-');
    const [whole = '', fraction = ''] = mantissa.replace(/^[+-]/, '').split('.');
    const shift = scale + Number(power) - fraction.length;
    const digits = BigInt(`${whole}${fraction}` || '0');
    const value = shift >= 0 ? digits * 10n ** BigInt(shift) : digits / 10n ** BigInt(-shift);
    return negative ? -value : value;
  };
  const x = scaled(a, 500);
  const y = scaled(b, 500);
  return x < y ? -1 : x > y ? 1 : 0;
}

const SUPPORTED = new Set(['StringEquals', 'StringNotEquals', 'StringLike', 'NumericLessThan', 'Bool']);
const NEGATED = new Set(['StringNotEquals']);

function compareOne(base: string, value: ContextScalar, policyValues: readonly ContextScalar[]): boolean {
  const text = String(value);
  switch (base) {
    case 'StringEquals':
      return policyValues.some((p) => String(p) === text);
    case 'StringNotEquals':
      return !policyValues.some((p) => String(p) === text);
    case 'StringLike':
      return policyValues.some((p) => naiveWildcard(String(p), text));
    case 'NumericLessThan':
      if (!DECIMAL.test(text)) throw new Unsupported('a context value that is not a number');
      return policyValues.some((p) => decimalOrder(text, String(p)) < 0);
    case 'Bool':
      if (!/^(true|false)$/i.test(text)) throw new Unsupported('a context value that is not a boolean');
      return policyValues.some((p) => String(p).toLowerCase() === text.toLowerCase());
    default:
      throw new Unsupported(`operator ${base}`);
  }
}

/** A value with nothing in it: an empty string, or a set holding nothing but empty strings. */
function nullDataset(value: ContextValue): boolean {
  return (Array.isArray(value) ? value : [value]).every((v) => v === '');
}

function conditionHolds(op: string, key: string, policyValues: readonly ContextScalar[], ctx: ReadonlyMap<string, ContextValue>): boolean {
  const value = ctx.get(key.toLowerCase());
  if (op === 'Null') {
    // "true": the key doesn't exist, "it is null"; "false": "the key exists and its value is not
    // null". A value with nothing in it ("context keys with empty values") is null. Several
    // values are ORed.
    const isNull = value === undefined || nullDataset(value);
    return policyValues.some((p) => (String(p).toLowerCase() === 'true') === isNull);
  }
  let rest = op;
  let qualifier: 'ForAllValues' | 'ForAnyValue' | undefined;
  if (rest.startsWith('ForAllValues:')) qualifier = 'ForAllValues';
  else if (rest.startsWith('ForAnyValue:')) qualifier = 'ForAnyValue';
  if (qualifier) rest = rest.slice(qualifier.length + 1);
  const ifExists = rest.endsWith('IfExists');
  const base = ifExists ? rest.slice(0, -'IfExists'.length) : rest;
  if (!SUPPORTED.has(base) || (qualifier && !base.startsWith('String'))) throw new Unsupported(op);
  if (qualifier) {
    // A missing key: ForAllValues is true and ForAnyValue false, IfExists or not (the suffix
    // qualifies each value of the set, and a missing key has none).
    if (value === undefined) return qualifier === 'ForAllValues';
    // "Resolves to a null dataset, such as an empty string": the empty set.
    const set: readonly ContextScalar[] = nullDataset(value) ? [] : Array.isArray(value) ? value : [value as ContextScalar];
    const test = (v: ContextScalar): boolean => compareOne(base, v, policyValues);
    return qualifier === 'ForAllValues' ? set.every(test) : set.some(test);
  }
  // A missing key: IfExists makes it true; a negated operator is true; any other is false.
  if (value === undefined) return ifExists || NEGATED.has(base);
  if (Array.isArray(value)) throw new Unsupported('a set value under a single-valued operator');
  return compareOne(base, value as ContextScalar, policyValues);
}

// ------------------------------------------------------------------ statements and policies

interface Scan {
  readonly deny: boolean;
  readonly allow: boolean;
  /** For a resource-based policy: how directly its best matching Allow names the caller. */
  readonly grade: Grade;
}

function scanPolicy(doc: unknown, req: ReferenceRequest, ctx: ReadonlyMap<string, ContextValue>, caller: Caller, resourceBased: boolean, bounded: boolean): Scan {
  let deny = false;
  let allow = false;
  let grade: Grade = Grade.None;
  for (const s of statements(doc)) {
    const actionOk = s.action
      ? s.action.some((p) => actionMatches(p, req.action))
      : !(s.notAction ?? []).some((p) => actionMatches(p, req.action));
    if (!actionOk) continue;
    // A Deny's Resource and an Allow's NotResource read a `*` as running across colons (the
    // reading that denies the most, where the Resource page leaves the extent open).
    const spanColons = (s.effect === 'Deny') === (s.resource !== undefined);
    const matches = (p: string): boolean => (spanColons ? naiveWildcard(p, req.resource) : resourceMatches(p, req.resource));
    const resourceOk = s.resource ? s.resource.some(matches) : !(s.notResource ?? []).some(matches);
    if (!resourceOk) continue;
    let g: Grade = Grade.Direct;
    if (resourceBased) {
      if (s.principal !== undefined) g = gradePrincipal(s.principal, caller);
      else if (s.notPrincipal !== undefined) g = s.effect === 'Deny' && !notPrincipalExcludes(s.notPrincipal, caller, bounded) ? Grade.Direct : Grade.None;
      else g = Grade.None;
      if (g === Grade.None) continue;
    }
    if (!s.conditions.every(([op, key, values]) => conditionHolds(op, key, values, ctx))) continue;
    if (s.effect === 'Deny') deny = true;
    else {
      allow = true;
      grade = better(grade, g);
    }
  }
  return { deny, allow, grade };
}

// ------------------------------------------------------------------ the combining logic

/**
 * The decision, step by step as the IAM User Guide's flow chart and its notes describe it:
 * explicit deny anywhere, resource control policies included; every SCP level must allow; resource-based policies (same account: a
 * grant naming the caller itself stands alone, one naming its role is still limited by boundary
 * and session policy, one naming the account needs the identity path too); identity policies;
 * permissions boundary; session policies (which apply to session principals only). Cross-account
 * requests need the resource-based Allow and the whole identity path. A role's trust policy must
 * name the caller, whatever the identity policies say.
 */
export function referenceDecision(set: ReferencePolicies, req: ReferenceRequest): DecisionKind {
  const ctx = new Map(Object.entries(req.context).map(([k, v]) => [k.toLowerCase(), v] as const));
  const caller = describeCaller(req.principal);
  const sessionApplies = caller.kind === 'role-session' || caller.kind === 'federated';
  const bounded = set.boundary !== undefined;
  const scan = (doc: unknown, resourceBased = false): Scan => scanPolicy(doc, req, ctx, caller, resourceBased, bounded);

  const identity = set.identity.map((d) => scan(d));
  const boundary = set.boundary === undefined ? undefined : scan(set.boundary);
  const resource = set.resource === undefined ? undefined : scan(set.resource, true);
  const scp = (set.scp ?? []).map((d) => scan(d));
  // An RCP's Allow (RCPFullAWSAccess) grants nothing and lets everything pass: only its Deny counts.
  const rcpDenies = (set.rcp ?? []).some((d) => scan(d).deny);
  const session = sessionApplies ? (set.session ?? []).map((d) => scan(d)) : [];

  const all = [...identity, ...scp, ...session, ...(boundary ? [boundary] : []), ...(resource ? [resource] : [])];
  if (rcpDenies || all.some((s) => s.deny)) return 'ExplicitDeny';
  if (scp.some((level) => !level.allow)) return 'ImplicitDeny';

  const identityAllows = identity.some((s) => s.allow);
  const boundaryAllows = boundary === undefined || boundary.allow;
  // No session policy: a role session keeps its role's permissions, a federated user has none.
  const sessionAllows = !sessionApplies || (session.length === 0 ? caller.kind === 'role-session' : session.some((s) => s.allow));
  const identityPath = identityAllows && boundaryAllows && sessionAllows;
  const grade = resource?.allow ? resource.grade : Grade.None;

  // The account is the fifth field of anything shaped like an ARN, even one cut short after it;
  // AWS-managed resources (account "aws") belong to no other account.
  const fields = req.resource.split(':');
  const resourceAccount = (fields[0] === 'arn' ? fields[4] : undefined) || caller.account;
  const crossAccount = caller.account !== '' && resourceAccount !== 'aws' && resourceAccount !== caller.account;
  // The role's trust policy governs assuming it, and the tags, source identity and context that
  // come with assuming it ("Passing session tags in AWS STS", "Monitor and control actions taken
  // with assumed roles").
  const action = req.action.toLowerCase();
  const onRole = fields[0] === 'arn' && fields[2] === 'iam' && (fields[5] ?? '').startsWith('role/');
  const assumeRole = action.startsWith('sts:assumerole') || (onRole && ['sts:tagsession', 'sts:setsourceidentity', 'sts:setcontext'].includes(action));

  if (assumeRole) {
    if (grade === Grade.None) return 'ImplicitDeny';
    if (crossAccount) return identityPath ? 'Allow' : 'ImplicitDeny';
    // Same account: a trust policy naming the caller itself suffices, but a permissions boundary
    // must still allow sts:AssumeRole ("Update a role trust policy"), and a calling session's
    // session policies too (the reading that denies: the guide says nothing of trust policies).
    if (grade === Grade.Direct) return boundaryAllows && sessionAllows ? 'Allow' : 'ImplicitDeny';
    // One naming the calling session's role stands in for its identity policies, within its
    // boundary and session policies, as in any resource-based policy.
    if (grade === Grade.Role) return boundaryAllows && sessionAllows ? 'Allow' : 'ImplicitDeny';
    return identityPath ? 'Allow' : 'ImplicitDeny';
  }
  if (crossAccount) return grade !== Grade.None && identityPath ? 'Allow' : 'ImplicitDeny';
  if (grade === Grade.Direct) return 'Allow';
  if (grade === Grade.Role && boundaryAllows && sessionAllows) return 'Allow';
  return identityPath ? 'Allow' : 'ImplicitDeny';
}
