// Reading one statement: its elements, their pairing rules (Action xor NotAction, ...), and each
// action, resource and principal value.
import { checkResourcePattern, variableBeforeAccount } from '../arn.js';
import type { Effect, ParsedStatement, PolicyKind, PolicyVersion, PrincipalSpec } from '../types.js';
import { readConditions } from './condition.js';
import { compileWildcard } from '../wildcard.js';
import type { FindingSink } from './findings.js';
import { readPrincipal } from './principal.js';
import { checkRcpStatement } from './rcp.js';
import {
  checkElementNames,
  checkNoVariable,
  checkVariableSyntax,
  childPath,
  hasPolicyVariable,
  isJsonObject,
  jsonTypeName,
  readStringList,
} from './read.js';

const STATEMENT_ELEMENTS = [
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Principal',
  'NotPrincipal',
  'Condition',
] as const;

// `*` (or `*:*`), or `service:Action`; the action name may hold the wildcards `*` and `?`, the
// service may not: IAM's Action page puts wildcards in the action name only, and a pattern over services
// (`*:Get*`, `s?:Get*`) would grant the actions of services nobody reviewed, today's and future ones.
const ACTION = /^[A-Za-z0-9_.-]+:[A-Za-z0-9_.*?-]+$/;
const WILDCARD_SERVICE = /^[A-Za-z0-9_.*?-]*[*?][A-Za-z0-9_.*?-]*:[A-Za-z0-9_.*?-]+$/;

// IAM itself (identity policies, permissions boundaries, session policies) accepts only ASCII
// letters and digits in a Sid (IAM User Guide, "IAM JSON policy elements: Sid"); resource-based
// policies follow their service's rules, which allow more (S3 bucket policies allow blanks).
const IAM_SID = /^[A-Za-z0-9]*$/;
const IAM_SID_KINDS: readonly PolicyKind[] = ['identity', 'boundary', 'session'];

// The actions a role trust policy governs: assuming the role and what comes with it. IAM refuses a
// trust policy naming any other ("AssumeRole policy may only specify STS AssumeRole actions").
const TRUST_ACTIONS = ['sts:AssumeRole', 'sts:AssumeRoleWithSAML', 'sts:AssumeRoleWithWebIdentity', 'sts:TagSession', 'sts:SetSourceIdentity', 'sts:SetContext'];
const governsTrust = (pattern: string): boolean => {
  const matches = compileWildcard(pattern, true);
  return TRUST_ACTIONS.some((a) => matches(a));
};

export interface StatementContext {
  readonly version: PolicyVersion;
  readonly kind: PolicyKind;
  /** A role's trust policy: a resource-based policy that takes no NotPrincipal. */
  readonly trust: boolean;
  readonly sink: FindingSink;
}

/** A statement as read, with where it sits and whether it was free of errors. */
export interface ReadStatement {
  readonly statement: ParsedStatement;
  readonly path: string;
  readonly clean: boolean;
}

function readEffect(stmt: Record<string, unknown>, path: string, sink: FindingSink): Effect | undefined {
  if (!Object.hasOwn(stmt, 'Effect')) {
    sink.add('MISSING_EFFECT', path, 'the statement has no Effect: use "Allow" or "Deny"');
    return undefined;
  }
  const effect = stmt.Effect;
  if (effect === 'Allow' || effect === 'Deny') return effect;
  const at = childPath(path, 'Effect');
  if (typeof effect !== 'string') sink.add('DATA_TYPE_MISMATCH', at, `Effect must be a string, not ${jsonTypeName(effect)}`);
  else sink.add('INVALID_EFFECT', at, `Effect "${effect}" is neither "Allow" nor "Deny" (case-sensitive)`);
  return undefined;
}

/** Which of a pair of exclusive elements (Action/NotAction, ...) the statement uses. */
function pick(stmt: Record<string, unknown>, name: string): string | undefined | 'both' {
  const has = Object.hasOwn(stmt, name);
  const hasNot = Object.hasOwn(stmt, `Not${name}`);
  if (has && hasNot) return 'both';
  return has ? name : hasNot ? `Not${name}` : undefined;
}

function readActions(stmt: Record<string, unknown>, path: string, effect: Effect | undefined, ctx: StatementContext): string[] | undefined {
  const { sink } = ctx;
  const name = pick(stmt, 'Action');
  if (name === 'both') sink.add('ACTION_AND_NOT_ACTION', path, 'a statement takes Action or NotAction, not both');
  if (name === undefined) sink.add('MISSING_ACTION', path, 'the statement has neither Action nor NotAction');
  if (name === undefined || name === 'both') return undefined;
  // An Allow with NotAction in a trust policy would allow every action it does not list, s3:* and
  // iam:* among them: no longer only the STS actions a trust policy may name. A Deny with NotAction
  // stays within them when each entry is one.
  if (ctx.trust && name === 'NotAction' && effect === 'Allow') {
    sink.add('TRUST_POLICY_ACTION', childPath(path, name), `an Allow with NotAction allows every action it does not list, but a trust policy may name only ${TRUST_ACTIONS.join(', ')}: list them in Action`);
  }
  const values = readStringList(stmt[name], childPath(path, name), name, sink) ?? [];
  for (const v of values) {
    if (!checkNoVariable(v.value, v.path, name, sink)) continue;
    const everyAction = v.value === '*' || v.value === '*:*';
    if (!everyAction && WILDCARD_SERVICE.test(v.value)) {
      sink.add('INVALID_ACTION', v.path, `"${v.value}" has a wildcard in its service: name the service ("s3:GetObject"), or use "*" for every action`);
    } else if (!everyAction && !ACTION.test(v.value)) {
      sink.add('INVALID_ACTION', v.path, `"${v.value}" is not an action: use "*" or "service:Action" (wildcards * and ? allowed in the action name)`);
    } else if (ctx.trust && !governsTrust(v.value)) {
      sink.add('TRUST_POLICY_ACTION', v.path, `"${v.value}" is not an action a trust policy governs: ${TRUST_ACTIONS.join(', ')}`);
    }
  }
  return values.map((v) => v.value);
}

function readResources(stmt: Record<string, unknown>, path: string, ctx: StatementContext): string[] | undefined {
  const name = pick(stmt, 'Resource');
  if (name === 'both') ctx.sink.add('RESOURCE_AND_NOT_RESOURCE', path, 'a statement takes Resource or NotResource, not both');
  // Trust policies and other resource-based policies may leave the resource implicit.
  if (name === undefined && ctx.kind !== 'resource') {
    ctx.sink.add('MISSING_RESOURCE', path, 'the statement has neither Resource nor NotResource');
  }
  if (name === undefined || name === 'both') return undefined;
  // IAM refuses a trust policy statement with a Resource ("Has prohibited field Resource").
  if (ctx.trust) ctx.sink.add('TRUST_POLICY_RESOURCE', childPath(path, name), `a trust policy takes no ${name}: the role it belongs to is the resource`);
  const values = readStringList(stmt[name], childPath(path, name), name, ctx.sink) ?? [];
  for (const v of values) {
    const problem = checkResourcePattern(v.value);
    // IAM accepts an ARN whose resource part is empty (AWS managed policies hold some): it is
    // well formed, it just matches no resource.
    if (problem && v.value.endsWith(':') && checkResourcePattern(`${v.value}x`) === undefined) {
      ctx.sink.add('EMPTY_RESOURCE_PART', v.path, `"${v.value}" has an empty resource part, so it matches no resource`);
    } else if (problem) ctx.sink.add('INVALID_RESOURCE', v.path, problem);
    else if (/\s$/.test(v.value)) {
      ctx.sink.add('RESOURCE_TRAILING_BLANK', v.path, `"${v.value}" ends with a blank, so it matches only resources whose names end with one: write "${v.value.trimEnd()}" if the blank is a slip`);
    }
    checkVariableSyntax(v.value, v.path, ctx.version, ctx.sink);
    const misplaced = ctx.version === '2012-10-17' ? variableBeforeAccount(v.value) : undefined;
    if (misplaced !== undefined) {
      ctx.sink.add('MISPLACED_POLICY_VARIABLE', v.path, `"${v.value}": policy variables are not substituted in the ${misplaced} of a ${name} ARN; IAM substitutes them in its resource part (and its account)`);
    }
    if (ctx.version === '2008-10-17' && hasPolicyVariable(v.value)) {
      ctx.sink.add('POLICY_VARIABLE_NOT_SUPPORTED', v.path, `"${v.value}" is matched literally: policy variables need Version 2012-10-17`);
    }
  }
  return values.map((v) => v.value);
}

function readPrincipals(stmt: Record<string, unknown>, path: string, effect: Effect | undefined, ctx: StatementContext): PrincipalSpec | undefined {
  const name = pick(stmt, 'Principal');
  if (name === 'both') ctx.sink.add('PRINCIPAL_AND_NOT_PRINCIPAL', path, 'a statement takes Principal or NotPrincipal, not both');
  const namesPrincipals = ctx.kind === 'resource' || ctx.kind === 'rcp';
  if (name === undefined && namesPrincipals) {
    ctx.sink.add('MISSING_PRINCIPAL', path, `a statement of a ${ctx.kind === 'rcp' ? 'resource control' : 'resource-based'} policy must name a Principal${ctx.kind === 'rcp' ? ' ("*")' : ' or NotPrincipal'}`);
  }
  if (name !== undefined && name !== 'both' && !namesPrincipals) {
    ctx.sink.add('UNSUPPORTED_PRINCIPAL', childPath(path, name), `${name} is only allowed in resource-based policies, not in ${ctx.kind} policies`);
  } else if (name === 'NotPrincipal' && ctx.trust) {
    // "You cannot use the NotPrincipal element in an IAM identity-based policy nor in an IAM role
    // trust policy" (IAM User Guide, NotPrincipal).
    ctx.sink.add('UNSUPPORTED_PRINCIPAL', childPath(path, name), 'NotPrincipal is not allowed in a role trust policy: name who may assume the role in Principal');
  } else if (name === 'NotPrincipal' && ctx.kind === 'rcp') {
    // "Service control policies (SCPs) and resource control policies (RCPs) do not support the
    // NotPrincipal element" (IAM User Guide, NotPrincipal).
    ctx.sink.add('UNSUPPORTED_PRINCIPAL', childPath(path, name), 'NotPrincipal is not allowed in a resource control policy: use "Principal": "*" with an aws:PrincipalArn condition');
  }
  if (name === undefined || name === 'both') return undefined;
  // "NotPrincipal must be used with "Effect":"Deny". Using it with "Effect":"Allow" is not
  // supported" (IAM User Guide, NotPrincipal): such an Allow would trust everyone not listed.
  if (name === 'NotPrincipal' && effect === 'Allow' && ctx.kind === 'resource' && !ctx.trust) {
    ctx.sink.add('ALLOW_WITH_NOT_PRINCIPAL', childPath(path, name), 'NotPrincipal is not supported with Allow: name the principals to allow in Principal, or deny everyone else with a Deny and NotPrincipal (or an aws:PrincipalArn condition)');
  }
  return readPrincipal(stmt[name], childPath(path, name), name, ctx.sink);
}

function readSid(stmt: Record<string, unknown>, path: string, ctx: StatementContext): string | undefined {
  if (!Object.hasOwn(stmt, 'Sid')) return undefined;
  const at = childPath(path, 'Sid');
  const sid = stmt.Sid;
  if (typeof sid !== 'string') {
    ctx.sink.add('DATA_TYPE_MISMATCH', at, `Sid must be a string, not ${jsonTypeName(sid)}`);
    return undefined;
  }
  // A role's trust policy is a resource-based policy, but IAM stores it, so IAM's rule holds.
  if ((IAM_SID_KINDS.includes(ctx.kind) || ctx.trust) && !IAM_SID.test(sid)) {
    const where = ctx.trust ? 'role trust' : ctx.kind;
    ctx.sink.add('INVALID_SID', at, `Sid ${JSON.stringify(sid)} may hold only ASCII letters and digits (A-Z, a-z, 0-9) in ${where} policies`);
  }
  return sid;
}

/** Reads the statement at `path`; undefined when it is not even an object. */
export function readStatement(raw: unknown, index: number, path: string, ctx: StatementContext): ReadStatement | undefined {
  const { sink } = ctx;
  if (!isJsonObject(raw)) {
    sink.add('DATA_TYPE_MISMATCH', path, `a statement must be an object, not ${jsonTypeName(raw)}`);
    return undefined;
  }
  const errorsBefore = sink.errorCount();
  checkElementNames(raw, STATEMENT_ELEMENTS, path, sink);
  const sid = readSid(raw, path, ctx);
  const effect = readEffect(raw, path, sink);
  const actions = readActions(raw, path, effect, ctx);
  const resources = readResources(raw, path, ctx);
  const principal = readPrincipals(raw, path, effect, ctx);
  if (ctx.kind === 'rcp') checkRcpStatement(raw, path, effect, sink);
  const conditions = Object.hasOwn(raw, 'Condition')
    ? readConditions(raw.Condition, childPath(path, 'Condition'), ctx.version, sink)
    : [];
  const negated = (name: string): boolean => Object.hasOwn(raw, `Not${name}`);
  const statement: ParsedStatement = {
    index,
    ...(sid !== undefined && { sid }),
    effect: effect ?? 'Deny',
    ...(actions && (negated('Action') ? { notAction: actions } : { action: actions })),
    ...(resources && (negated('Resource') ? { notResource: resources } : { resource: resources })),
    ...(principal && (negated('Principal') ? { notPrincipal: principal } : { principal })),
    conditions,
  };
  return { statement, path, clean: sink.errorCount() === errorsBefore };
}
