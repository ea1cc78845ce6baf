// Security checks on statements that read cleanly: grants wider than they look (wildcards,
// NotAction/NotResource, public principals) and conditions that quietly never apply.
import { parseOperator } from '../conditions/operators.js';
import { parseBool } from '../conditions/values.js';
import { MULTIVALUED_GLOBAL_KEYS } from '../global-keys.js';
import { compileWildcard } from '../wildcard.js';
import { matchesEveryAction } from './checks-ineffective.js';
import type { ContextScalar, ParsedCondition, ParsedStatement } from '../types.js';
import type { ReadDocument } from './document.js';
import type { FindingSink } from './findings.js';
import { childPath } from './read.js';

const matchesPassRole = (pattern: string): boolean =>
  /[*?]/.test(pattern) ? compileWildcard(pattern, true)('iam:PassRole') : pattern.toLowerCase() === 'iam:passrole';


// Global keys AWS documents as single-valued; tag keys (`aws:RequestTag/...`) are single-valued too.
const SINGLE_VALUED_KEYS: ReadonlySet<string> = new Set(
  [
    'aws:CurrentTime', 'aws:EpochTime', 'aws:MultiFactorAuthAge', 'aws:MultiFactorAuthPresent',
    'aws:PrincipalAccount', 'aws:PrincipalArn', 'aws:PrincipalIsAWSService', 'aws:PrincipalOrgID',
    'aws:PrincipalServiceName', 'aws:PrincipalType', 'aws:Referer', 'aws:RequestedRegion',
    'aws:ResourceAccount', 'aws:ResourceOrgID', 'aws:SecureTransport', 'aws:SourceAccount',
    'aws:SourceArn', 'aws:SourceIdentity', 'aws:SourceIp', 'aws:SourceOrgID', 'aws:SourceVpc',
    'aws:SourceVpce', 'aws:TokenIssueTime', 'aws:UserAgent', 'aws:userid', 'aws:username',
    'aws:ViaAWSService', 'aws:VpcSourceIp', 'aws:CalledViaFirst', 'aws:CalledViaLast',
  ].map((k) => k.toLowerCase()),
);
const SINGLE_VALUED_PREFIXES = ['aws:requesttag/', 'aws:resourcetag/', 'aws:principaltag/'];

function isSingleValued(key: string): boolean {
  const k = key.toLowerCase();
  return SINGLE_VALUED_KEYS.has(k) || SINGLE_VALUED_PREFIXES.some((p) => k.startsWith(p));
}

/**
 * True when the condition can only hold if its key is present in the request: ForAnyValue always
 * (IfExists or not, negated or not), an unqualified operator unless negated or IfExists.
 */
function needsKeyPresent(c: ParsedCondition): boolean {
  const op = parseOperator(c.operator);
  if (!op || op.base.family === 'Null' || op.qualifier === 'ForAllValues') return false;
  return op.qualifier === 'ForAnyValue' || !(op.ifExists || op.base.negated);
}

const isTrue = (v: ContextScalar): boolean => parseBool(v) === true;
const isFalse = (v: ContextScalar): boolean => parseBool(v) === false;

function checkPassRole(s: ParsedStatement, path: string, sink: FindingSink): void {
  const everyResource = s.notResource !== undefined || (s.resource ?? []).includes('*');
  const constrained = s.conditions.some((c) => c.key.toLowerCase() === 'iam:passedtoservice');
  if (!everyResource || constrained) return;
  const where = s.resource ? 'on every resource ("*")' : 'through NotResource';
  if (s.action) {
    const via = s.action.find(matchesPassRole);
    if (via !== undefined) {
      sink.add('PASS_ROLE_WILDCARD', childPath(path, 'Action'), `"${via}" allows iam:PassRole ${where}: name the roles, or add an iam:PassedToService condition`);
    }
  } else if (s.notAction && !s.notAction.some(matchesPassRole)) {
    sink.add('PASS_ROLE_WILDCARD', childPath(path, 'NotAction'), `NotAction does not exclude iam:PassRole, so it is allowed ${where}`);
  }
}

function checkConditions(s: ParsedStatement, sink: FindingSink): void {
  for (const c of s.conditions) {
    const op = parseOperator(c.operator);
    if (op?.qualifier === 'ForAllValues' && isSingleValued(c.key)) {
      sink.add('FORALLVALUES_WITH_SINGLE_VALUED_KEY', c.path, `ForAllValues on the single-valued key ${c.key} also matches when the key is absent: use ${op.base.name}${op.ifExists ? 'IfExists' : ''} instead`);
    }
    if (op && op.qualifier === undefined && op.base.family !== 'Null' && MULTIVALUED_GLOBAL_KEYS.has(c.key.toLowerCase())) {
      const reading = op.base.negated ? 'holds only when no value of the key matches' : 'holds when any one value matches';
      sink.add('MISSING_SET_OPERATOR', c.path, `${c.key} is multivalued and IAM requires ForAnyValue or ForAllValues with it; without one, iamgate's ${op.base.name} ${reading}: write the set operator you mean`);
    }
    if (s.effect === 'Deny' && c.operator === 'Bool' && c.key.toLowerCase() === 'aws:multifactorauthpresent' && c.values.some(isFalse)) {
      sink.add('MFA_DENY_BYPASSABLE', c.path, 'requests signed with long-term credentials carry no aws:MultiFactorAuthPresent, so this Deny skips them: use BoolIfExists');
    }
    if (c.operator === 'Null' && c.values.length > 0 && c.values.every(isTrue)) {
      const lower = c.key.toLowerCase();
      const clash = s.conditions.find((o) => o !== c && o.key.toLowerCase() === lower && needsKeyPresent(o));
      if (clash) {
        const code = s.effect === 'Deny' ? 'DENY_NEVER_APPLIES' : 'ALLOW_NEVER_APPLIES';
        sink.add(code, c.path, `Null requires ${c.key} to be absent while ${clash.operator} requires it to be present, so this ${s.effect} never applies`);
      }
    }
  }
}

/** Reports security findings for every statement that read without errors. */
export function checkSecurity(doc: ReadDocument, sink: FindingSink): void {
  for (const { statement: s, path, clean } of doc.statements) {
    if (!clean) continue;
    checkConditions(s, sink);
    // An RCP's Allow (RCPFullAWSAccess, the only one it may hold) grants nothing: it lets through.
    if (s.effect !== 'Allow' || doc.kind === 'rcp') continue;
    if ((s.action ?? []).some(matchesEveryAction) && (s.resource ?? []).includes('*')) {
      sink.add('ALLOW_ALL_ACTIONS_ALL_RESOURCES', path, 'this statement allows every action on every resource');
    }
    if (s.notAction) sink.add('ALLOW_WITH_NOT_ACTION', childPath(path, 'NotAction'), 'Allow with NotAction allows every action not listed, including actions added later: list the actions to allow');
    if (s.notResource) sink.add('ALLOW_WITH_NOT_RESOURCE', childPath(path, 'NotResource'), 'Allow with NotResource allows every resource not listed: list the resources to allow');
    checkPassRole(s, path, sink);
    const publicPrincipal = s.principal === '*' || (s.principal?.AWS ?? []).includes('*');
    if (doc.kind === 'resource' && publicPrincipal && s.conditions.length === 0) {
      sink.add('ALLOW_PUBLIC_ACCESS', childPath(path, 'Principal'), 'this statement allows any principal, from any account, with no condition');
    }
  }
}
