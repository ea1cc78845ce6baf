// The policy grammar as the IAM User Guide defines it ("Grammar of the IAM JSON policy language",
// "IAM JSON policy elements reference") and the error checks of IAM Access Analyzer: each finding
// code is pinned with the JSON path it points at.
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/parse.js';
import type { PolicyKind } from '../../src/policy/types.js';
import { allow, located, policy, without, type Doc } from './documents.js';

const withCondition = (condition: unknown): Doc => policy(allow({ Condition: condition }));
const trust = (extra: Doc): Doc =>
  policy({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ec2.amazonaws.com' }, ...extra });

describe('parsePolicy errors', () => {
  // [why, document, expected `CODE at PATH` (exactly these findings), kind]
  const cases: [string, unknown, string[], PolicyKind?][] = [
    ['a document that is an array', [], ['POLICY_NOT_OBJECT at ']],
    ['a document that is a JSON number', '42', ['POLICY_NOT_OBJECT at ']],
    ['an unknown top-level element', { ...policy(allow()), Statment: [] }, ['UNKNOWN_KEY at Statment']],
    ['a top-level element in the wrong case', { version: '2012-10-17', Statement: allow() }, ['UNKNOWN_KEY at version', 'MISSING_VERSION at Version']],
    ['an unknown statement element', policy(allow({ Actions: 's3:PutObject' })), ['UNKNOWN_KEY at Statement[0].Actions']],
    ['a statement element in the wrong case', policy(without(allow({ action: 's3:*' }), 'Action')), ['UNKNOWN_KEY at Statement[0].action', 'MISSING_ACTION at Statement[0]']],
    ['an unsupported Version', { ...policy(allow()), Version: '2012-10-18' }, ['INVALID_VERSION at Version']],
    ['a Version that is a number', { ...policy(allow()), Version: 20121017 }, ['INVALID_VERSION at Version']],
    ['no Statement', { Version: '2012-10-17' }, ['MISSING_STATEMENT at Statement']],
    ['an empty Statement array', { Version: '2012-10-17', Statement: [] }, ['EMPTY_ARRAY at Statement']],
    ['a Statement that is a string', { Version: '2012-10-17', Statement: 'Allow' }, ['DATA_TYPE_MISMATCH at Statement']],
    ['a statement that is not an object', policy(allow(), 7 as unknown as Doc), ['DATA_TYPE_MISMATCH at Statement[1]']],
    ['an Id that is not a string', { ...policy(allow()), Id: 1 }, ['DATA_TYPE_MISMATCH at Id']],
    ['a Sid that is not a string', policy(allow({ Sid: 3 })), ['DATA_TYPE_MISMATCH at Statement[0].Sid']],
    ['two statements with one Sid', policy(allow({ Sid: 'Read' }), allow({ Sid: 'Read', Action: 's3:ListBucket' })), ['DUPLICATE_SID at Statement[1].Sid']],
    // IAM User Guide, "IAM JSON policy elements: Sid": ASCII letters and digits only.
    ['a Sid with a hyphen in an identity policy', policy(allow({ Sid: 'read-objects' })), ['INVALID_SID at Statement[0].Sid']],
    ['a Sid with a blank in a permissions boundary', policy(allow({ Sid: 'Read objects' })), ['INVALID_SID at Statement[0].Sid'], 'boundary'],
    ['a Sid with an underscore in a session policy', policy(allow({ Sid: 'read_objects' })), ['INVALID_SID at Statement[0].Sid'], 'session'],
    ['a Sid with a letter outside ASCII', policy(allow({ Sid: 'LesezugriffÄ' })), ['INVALID_SID at Statement[0].Sid']],
    ['no Effect', policy(without(allow(), 'Effect')), ['MISSING_EFFECT at Statement[0]']],
    ['an Effect in lower case', policy(allow({ Effect: 'allow' })), ['INVALID_EFFECT at Statement[0].Effect']],
    ['an Effect that is not a string', policy(allow({ Effect: true })), ['DATA_TYPE_MISMATCH at Statement[0].Effect']],
    ['neither Action nor NotAction', policy(without(allow(), 'Action')), ['MISSING_ACTION at Statement[0]']],
    ['both Action and NotAction', policy(allow({ NotAction: 's3:DeleteObject' })), ['ACTION_AND_NOT_ACTION at Statement[0]']],
    ['an empty Action array', policy(allow({ Action: [] })), ['EMPTY_ARRAY at Statement[0].Action']],
    ['an Action that is a number', policy(allow({ Action: 5 })), ['DATA_TYPE_MISMATCH at Statement[0].Action']],
    ['an Action list holding a number', policy(allow({ Action: ['s3:GetObject', 5] })), ['DATA_TYPE_MISMATCH at Statement[0].Action[1]']],
    ['an action without a service', policy(allow({ Action: 'GetObject' })), ['INVALID_ACTION at Statement[0].Action']],
    ['an action with a blank', policy(allow({ Action: ['s3:GetObject', 's3:Get Object'] })), ['INVALID_ACTION at Statement[0].Action[1]']],
    ['an action with two colons', policy(allow({ Action: 's3:Get:Object' })), ['INVALID_ACTION at Statement[0].Action']],
    ['an action with an empty name', policy(without(allow({ NotAction: 's3:' }), 'Action')), ['INVALID_ACTION at Statement[0].NotAction']],
    ['an empty action', policy(allow({ Action: '' })), ['INVALID_ACTION at Statement[0].Action']],
    ['a wildcard for the service of an action', policy(allow({ Action: ['s3:GetObject', '*:GetObject'] })), ['INVALID_ACTION at Statement[0].Action[1]']],
    ['a wildcard within the service of an action', policy(without(allow({ NotAction: 's?:Get*' }), 'Action')), ['INVALID_ACTION at Statement[0].NotAction']],
    ['neither Resource nor NotResource in an identity policy', policy(without(allow(), 'Resource')), ['MISSING_RESOURCE at Statement[0]']],
    ['both Resource and NotResource', policy(allow({ NotResource: 'arn:aws:s3:::other/*' })), ['RESOURCE_AND_NOT_RESOURCE at Statement[0]']],
    ['an empty Resource array', policy(allow({ Resource: [] })), ['EMPTY_ARRAY at Statement[0].Resource']],
    ['a resource that is not an ARN', policy(allow({ Resource: 'bucket/*' })), ['INVALID_RESOURCE at Statement[0].Resource']],
    ['a resource ARN with too few parts', policy(allow({ Resource: ['*', 'arn:aws:s3:bucket'] })), ['INVALID_RESOURCE at Statement[0].Resource[1]']],
    // IAM User Guide, "IAM JSON policy elements: Resource": no wildcard in the service segment.
    ['a resource with a wildcard in its service', policy(allow({ Resource: 'arn:aws:s3*:::bucket/*' })), ['INVALID_RESOURCE at Statement[0].Resource']],
    ['a resource whose service is a lone star', policy(allow({ Resource: ['arn:aws:s3:::bucket/*', 'arn:aws:*:*:*:*'] })), ['INVALID_RESOURCE at Statement[0].Resource[1]']],
    ['a NotResource with a single-character wildcard in its service', policy(without(allow({ NotResource: 'arn:aws:s?s:us-east-1:111122223333:queue' }), 'Resource')), ['INVALID_RESOURCE at Statement[0].NotResource']],
    ['a cut-short resource whose closing star is its service', policy(allow({ Resource: 'arn:aws:*' })), ['INVALID_RESOURCE at Statement[0].Resource']],
    ['a resource cut short before its partition', policy(allow({ Resource: 'arn:*' })), ['INVALID_RESOURCE at Statement[0].Resource']],
    ['a resource with a wildcard service and an empty resource part', policy(allow({ Resource: 'arn:aws:*:::' })), ['INVALID_RESOURCE at Statement[0].Resource']],
    ['a Principal in an identity policy', policy(allow({ Principal: '*' })), ['UNSUPPORTED_PRINCIPAL at Statement[0].Principal'], 'identity'],
    ['a NotPrincipal in a permissions boundary', policy(allow({ NotPrincipal: { AWS: '111122223333' } })), ['UNSUPPORTED_PRINCIPAL at Statement[0].NotPrincipal'], 'boundary'],
    ['no principal in a resource-based policy', policy(allow()), ['MISSING_PRINCIPAL at Statement[0]'], 'resource'],
    ['no principal in one statement of a document that names principals', policy(allow({ Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }), allow()), ['MISSING_PRINCIPAL at Statement[1]']],
    ['both Principal and NotPrincipal', trust({ NotPrincipal: { AWS: '111122223333' } }), ['PRINCIPAL_AND_NOT_PRINCIPAL at Statement[0]']],
    // IAM User Guide, "AWS JSON policy elements: NotPrincipal": "NotPrincipal must be used with
    // "Effect":"Deny". Using it with "Effect":"Allow" is not supported."
    // IAM User Guide, "IAM policy elements: Variables and tags": variables are substituted in
    // Resource and in condition values only; elsewhere `${...}` would be matched as literal text.
    ['a policy variable in Action', policy(allow({ Action: ['s3:GetObject', 's3:${aws:username}'] })), ['MISPLACED_POLICY_VARIABLE at Statement[0].Action[1]']],
    ['a policy variable in a Principal', trust({ Principal: { AWS: 'arn:aws:iam::111122223333:user/${aws:username}' } }), ['MISPLACED_POLICY_VARIABLE at Statement[0].Principal.AWS']],
    ['a policy variable in a NotPrincipal', policy({ Effect: 'Deny', Action: 's3:*', Resource: '*', NotPrincipal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:role/${aws:PrincipalTag/role}'] } }), ['MISPLACED_POLICY_VARIABLE at Statement[0].NotPrincipal.AWS[1]']],
    ['a policy variable in a condition key', withCondition({ StringEquals: { 'aws:ResourceTag/${aws:username}': 'owner' } }), ['MISPLACED_POLICY_VARIABLE at Statement[0].Condition.StringEquals.aws:ResourceTag/${aws:username}']],
    ['a policy variable in a condition key under 2008-10-17', { Version: '2008-10-17', Statement: [allow({ Condition: { StringEquals: { 's3:prefix/${aws:username}': 'x' } } })] }, ['MISPLACED_POLICY_VARIABLE at Statement[0].Condition.StringEquals.s3:prefix/${aws:username}']],
    // The same page: in a Resource a variable stands "only in the resource portion of the ARN" and
    // "can't ... replace parts of the ARN before the fifth colon, such as the service or account";
    // AWS managed policies still write one in the account (kept), never in partition, service or region.
    ['a policy variable in the service of a Resource', policy(allow({ Resource: 'arn:aws:${aws:PrincipalTag/service}:::bucket/*' })), ['MISPLACED_POLICY_VARIABLE at Statement[0].Resource']],
    ['a policy variable in the partition of a NotResource', policy(without(allow({ NotResource: ['arn:aws:s3:::bucket/*', 'arn:${aws:username}:s3:::home/*'] }), 'Resource')), ['MISPLACED_POLICY_VARIABLE at Statement[0].NotResource[1]']],
    ['a policy variable in the region of a Resource', policy(allow({ Resource: 'arn:aws:sqs:${aws:RequestedRegion}:111122223333:queue' })), ['MISPLACED_POLICY_VARIABLE at Statement[0].Resource']],
    ['an Allow with NotPrincipal', policy(allow({ NotPrincipal: { AWS: '111122223333' } })), ['ALLOW_WITH_NOT_PRINCIPAL at Statement[0].NotPrincipal'], 'resource'],
    ['an Allow with NotPrincipal "*" in a trust policy', policy({ Effect: 'Allow', Action: 'sts:AssumeRole', NotPrincipal: '*' }), ['ALLOW_WITH_NOT_PRINCIPAL at Statement[0].NotPrincipal'], 'resource'],
    ['a Principal string other than *', trust({ Principal: 'arn:aws:iam::111122223333:root' }), ['INVALID_PRINCIPAL at Statement[0].Principal']],
    ['a Principal that is an array', trust({ Principal: ['*'] }), ['DATA_TYPE_MISMATCH at Statement[0].Principal']],
    ['an empty Principal object', trust({ Principal: {} }), ['EMPTY_PRINCIPAL at Statement[0].Principal']],
    ['an unknown principal type', trust({ Principal: { User: 'alice' } }), ['INVALID_PRINCIPAL_KEY at Statement[0].Principal.User']],
    ['a principal type in the wrong case', trust({ Principal: { aws: '111122223333' } }), ['INVALID_PRINCIPAL_KEY at Statement[0].Principal.aws']],
    ['an empty principal list', trust({ Principal: { AWS: [] } }), ['EMPTY_ARRAY at Statement[0].Principal.AWS']],
    ['an AWS principal that is a user name', trust({ Principal: { AWS: 'alice' } }), ['INVALID_PRINCIPAL at Statement[0].Principal.AWS']],
    ['an AWS principal with a short account', trust({ Principal: { AWS: ['111122223333', 'arn:aws:iam::1234:root'] } }), ['INVALID_PRINCIPAL at Statement[0].Principal.AWS[1]']],
    ['an AWS principal with a wildcard', trust({ Principal: { AWS: 'arn:aws:iam::111122223333:user/*' } }), ['INVALID_PRINCIPAL at Statement[0].Principal.AWS']],
    ['an AWS principal from another service', trust({ Principal: { AWS: 'arn:aws:s3:::bucket' } }), ['INVALID_PRINCIPAL at Statement[0].Principal.AWS']],
    // IAM User Guide, "IAM JSON policy elements: Principal": a user group is not a principal.
    ['an AWS principal that is a user group', trust({ Principal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:group/developers'] } }), ['INVALID_PRINCIPAL at Statement[0].Principal.AWS[1]']],
    ['a NotPrincipal that names a managed policy', policy({ Effect: 'Deny', Action: 's3:*', Resource: '*', NotPrincipal: { AWS: 'arn:aws:iam::111122223333:policy/ReadOnly' } }), ['INVALID_PRINCIPAL at Statement[0].NotPrincipal.AWS']],
    ['an AWS principal that is an identity provider', trust({ Principal: { AWS: 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com' } }), ['INVALID_PRINCIPAL at Statement[0].Principal.AWS']],
    ['a role session principal without its session name', trust({ Principal: { AWS: 'arn:aws:sts::111122223333:assumed-role/ops' } }), ['INVALID_PRINCIPAL at Statement[0].Principal.AWS']],
    ['a user principal without its name', trust({ Principal: { AWS: 'arn:aws:iam::111122223333:user/' } }), ['INVALID_PRINCIPAL at Statement[0].Principal.AWS']],
    ['a service principal that is not a host name', trust({ Principal: { Service: 'EC2' } }), ['INVALID_PRINCIPAL at Statement[0].Principal.Service']],
    ['a federated principal that is neither a domain nor a provider ARN', trust({ Principal: { Federated: 'arn:aws:iam::111122223333:user/bob' } }), ['INVALID_PRINCIPAL at Statement[0].Principal.Federated']],
    ['a canonical user that is not 64 hex digits', trust({ Principal: { CanonicalUser: 'abc' } }), ['INVALID_PRINCIPAL at Statement[0].Principal.CanonicalUser']],
    ['a Condition that is not an object', withCondition('aws:SecureTransport'), ['DATA_TYPE_MISMATCH at Statement[0].Condition']],
    ['an unknown condition operator', withCondition({ StringEqualz: { 'aws:username': 'alice' } }), ['UNKNOWN_CONDITION_OPERATOR at Statement[0].Condition.StringEqualz']],
    ['a condition operator in the wrong case', withCondition({ stringEquals: { 'aws:username': 'alice' } }), ['UNKNOWN_CONDITION_OPERATOR at Statement[0].Condition.stringEquals']],
    ['an unknown set qualifier', withCondition({ 'ForSomeValues:StringEquals': { 'aws:TagKeys': 'team' } }), ['UNKNOWN_CONDITION_OPERATOR at Statement[0].Condition.ForSomeValues:StringEquals']],
    ['Null with IfExists', withCondition({ NullIfExists: { 'aws:TokenIssueTime': 'true' } }), ['NULL_WITH_IF_EXISTS at Statement[0].Condition.NullIfExists']],
    ['Null with a set qualifier', withCondition({ 'ForAnyValue:Null': { 'aws:TagKeys': 'true' } }), ['NULL_WITH_SET_QUALIFIER at Statement[0].Condition.ForAnyValue:Null']],
    ['an operator block that is not an object', withCondition({ StringEquals: ['aws:username'] }), ['DATA_TYPE_MISMATCH at Statement[0].Condition.StringEquals']],
    ['a condition key without a prefix', withCondition({ StringEquals: { username: 'alice' } }), ['INVALID_CONDITION_KEY at Statement[0].Condition.StringEquals.username']],
    ['a condition key that ends in a blank', withCondition({ StringEquals: { 'aws:PrincipalTag/team ': 'blue' } }), ['INVALID_CONDITION_KEY at Statement[0].Condition.StringEquals.aws:PrincipalTag/team ']],
    ['a condition key with a tab', withCondition({ StringEquals: { 'aws:PrincipalTag/cost\tcenter': 'blue' } }), ['INVALID_CONDITION_KEY at Statement[0].Condition.StringEquals.aws:PrincipalTag/cost\tcenter']],
    ['one condition key twice in different case', withCondition({ StringEquals: { 'aws:username': 'a', 'aws:UserName': 'b' } }), ['DUPLICATE_CONDITION_KEY at Statement[0].Condition.StringEquals.aws:UserName']],
    ['an empty condition value list', withCondition({ StringEquals: { 'aws:username': [] } }), ['EMPTY_ARRAY at Statement[0].Condition.StringEquals.aws:username']],
    ['a condition value that is an object', withCondition({ StringEquals: { 'aws:username': { name: 'alice' } } }), ['DATA_TYPE_MISMATCH at Statement[0].Condition.StringEquals.aws:username']],
    ['a null among condition values', withCondition({ StringEquals: { 'aws:username': ['alice', null] } }), ['DATA_TYPE_MISMATCH at Statement[0].Condition.StringEquals.aws:username[1]']],
    ['a date that is not a date', withCondition({ DateGreaterThan: { 'aws:CurrentTime': 'yesterday' } }), ['INVALID_CONDITION_VALUE at Statement[0].Condition.DateGreaterThan.aws:CurrentTime']],
    ['a time of day without its zone', withCondition({ DateLessThan: { 'aws:CurrentTime': ['2026-01-31T12:00:00Z', '2026-01-31T12:00:00'] } }), ['INVALID_CONDITION_VALUE at Statement[0].Condition.DateLessThan.aws:CurrentTime[1]']],
    ['a CIDR with a prefix too long', withCondition({ IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '10.0.0.0/33'] } }), ['INVALID_CONDITION_VALUE at Statement[0].Condition.IpAddress.aws:SourceIp[1]']],
    ['a Bool value that is not true or false', withCondition({ Bool: { 'aws:SecureTransport': 'yes' } }), ['INVALID_CONDITION_VALUE at Statement[0].Condition.Bool.aws:SecureTransport']],
    ['a Null value that is not true or false', withCondition({ Null: { 'aws:TokenIssueTime': 'maybe' } }), ['INVALID_CONDITION_VALUE at Statement[0].Condition.Null.aws:TokenIssueTime']],
    ['an ArnLike value that is not an ARN', withCondition({ ArnLike: { 'aws:SourceArn': 'bucket' } }), ['INVALID_CONDITION_VALUE at Statement[0].Condition.ArnLike.aws:SourceArn']],
    ['a BinaryEquals value that is not base64', withCondition({ BinaryEquals: { 'svc:x': '!!' } }), ['INVALID_CONDITION_VALUE at Statement[0].Condition.BinaryEquals.svc:x']],
    // IAM User Guide, "IAM policy elements: Variables and tags": `${key}` or `${key, 'default'}`.
    ['an unterminated policy variable in a resource', policy(allow({ Resource: 'arn:aws:s3:::bucket/${aws:username' })), ['INVALID_POLICY_VARIABLE at Statement[0].Resource']],
    ['an empty policy variable in a NotResource', policy(without(allow({ NotResource: ['arn:aws:s3:::bucket/*', 'arn:aws:s3:::home/${}/*'] }), 'Resource')), ['INVALID_POLICY_VARIABLE at Statement[0].NotResource[1]']],
    ['a policy variable default without quotes in a StringNotEquals value', withCondition({ StringNotEquals: { 's3:prefix': ['home/', 'home/${aws:username, none}'] } }), ['INVALID_POLICY_VARIABLE at Statement[0].Condition.StringNotEquals.s3:prefix[1]']],
    ['an unterminated policy variable default in a StringLike value', withCondition({ StringLike: { 's3:prefix': "home/${aws:username, 'none}/*" } }), ['INVALID_POLICY_VARIABLE at Statement[0].Condition.StringLike.s3:prefix']],
    ['an unterminated policy variable in an ArnNotLike value', withCondition({ ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/${aws:username' } }), ['INVALID_POLICY_VARIABLE at Statement[0].Condition.ArnNotLike.aws:PrincipalArn']],
    ['a policy variable as a Bool value without Version, where it is literal text that is not true or false', { Statement: allow({ Condition: { Bool: { 'aws:SecureTransport': '${aws:PrincipalTag/secure}' } } }) }, ['MISSING_VERSION at Version', 'INVALID_CONDITION_VALUE at Statement.Condition.Bool.aws:SecureTransport', 'POLICY_VARIABLE_NOT_SUPPORTED at Statement.Condition.Bool.aws:SecureTransport']],
    ['a policy variable naming no condition key (no prefix) in a Resource', policy(allow({ Resource: 'arn:aws:s3:::home/${username}/*' })), ['INVALID_POLICY_VARIABLE at Statement[0].Resource']],
    ['a policy variable naming no condition key (no prefix) in a StringEquals value', withCondition({ StringEquals: { 's3:prefix': ["home/${PrincipalTag/team, 'all'}"] } }), ['INVALID_POLICY_VARIABLE at Statement[0].Condition.StringEquals.s3:prefix[0]']],
    ['an unterminated policy variable in a Bool value', withCondition({ Bool: { 'aws:SecureTransport': '${aws:PrincipalTag/secure' } }), ['INVALID_POLICY_VARIABLE at Statement[0].Condition.Bool.aws:SecureTransport']],
  ];

  it('reports a NotPrincipal in a role trust policy, which IAM does not allow there, even with Deny', () => {
    const doc = policy(
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: '111122223333' } },
      { Effect: 'Deny', Action: 'sts:AssumeRole', NotPrincipal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:user/alice'] } },
    );
    const trust = parsePolicy(doc, { kind: 'resource', trust: true });
    expect(located(trust.findings)).toEqual(['UNSUPPORTED_PRINCIPAL at Statement[1].NotPrincipal']);
    expect(trust.policy).toBeUndefined();
    expect(parsePolicy(doc, { kind: 'resource' }).findings).toEqual([]);
  });

  // A trust statement allowing sts:AssumeRole to the account, with `extra` over it; NotAction in
  // `extra` takes the place of Action.
  const trustStatement = (extra: Doc): Doc => {
    const base = { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: '111122223333' }, ...extra };
    return 'NotAction' in extra ? without(base, 'Action') : base;
  };

  it.each([
    ['names an action outside assuming the role', { Action: ['sts:AssumeRole', 's3:GetObject', 'sts:GetCallerIdentity'] }, ['TRUST_POLICY_ACTION at Statement[0].Action[1]', 'TRUST_POLICY_ACTION at Statement[0].Action[2]']],
    ['names a Resource', { Resource: '*' }, ['TRUST_POLICY_RESOURCE at Statement[0].Resource']],
    ['names a NotResource', { NotResource: 'arn:aws:iam::111122223333:role/other' }, ['TRUST_POLICY_RESOURCE at Statement[0].NotResource']],
    ['allows with NotAction, which takes every action not listed', { NotAction: 'sts:TagSession' }, ['TRUST_POLICY_ACTION at Statement[0].NotAction']],
    ['lists an action outside assuming the role in NotAction', { NotAction: ['sts:TagSession', 's3:GetObject'] }, ['TRUST_POLICY_ACTION at Statement[0].NotAction', 'TRUST_POLICY_ACTION at Statement[0].NotAction[1]']],
    ['denies with NotAction listing an action outside assuming the role', { Effect: 'Deny', NotAction: ['sts:AssumeRole', 'iam:PassRole'] }, ['TRUST_POLICY_ACTION at Statement[0].NotAction[1]']],
  ])('refuses a role trust policy that %s, as IAM does (AssumeRole policy may only specify STS AssumeRole actions; Has prohibited field Resource)', (_why, extra, expected) => {
    const doc = policy(trustStatement(extra));
    const read = parsePolicy(doc, { kind: 'resource', trust: true });
    expect(located(read.findings)).toEqual(expected);
    expect(read.policy).toBeUndefined();
    expect(parsePolicy(doc, { kind: 'resource' }).findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  describe('a resource control policy', () => {
    const rcp = { kind: 'rcp' } as const;
    const fullAccess = { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' };
    const perimeter = { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: '*', Condition: { StringNotEqualsIfExists: { 'aws:PrincipalOrgID': 'o-exampleorg' } } };

    it('accepts RCPFullAWSAccess and a Deny naming every principal', () => {
      expect(located(parsePolicy(policy(fullAccess, perimeter), rcp).findings)).toEqual([]);
    });

    it.each([
      ['an Allow narrower than RCPFullAWSAccess, which RCPs do not support', policy({ ...fullAccess, Action: 's3:GetObject' }), ['RCP_ALLOW at Statement[0].Effect']],
      ['an Allow of everything under a condition', policy({ ...fullAccess, Condition: { Bool: { 'aws:SecureTransport': 'true' } } }), ['RCP_ALLOW at Statement[0].Effect']],
      ['a Principal other than "*"', policy({ ...perimeter, Principal: { AWS: '111122223333' } }), ['RCP_PRINCIPAL at Statement[0].Principal']],
      ['no Principal', policy(without(perimeter, 'Principal')), ['MISSING_PRINCIPAL at Statement[0]']],
      ['a NotPrincipal', policy({ ...without(perimeter, 'Principal'), NotPrincipal: { AWS: '111122223333' } }), ['UNSUPPORTED_PRINCIPAL at Statement[0].NotPrincipal']],
      ['a NotAction', policy({ ...without(perimeter, 'Action'), NotAction: 's3:GetObject' }), ['RCP_UNSUPPORTED_ELEMENT at Statement[0].NotAction']],
      ['Version 2008-10-17', { Version: '2008-10-17', Statement: [perimeter] }, ['RCP_VERSION at Version']],
    ])('refuses %s, as AWS Organizations does', (_why, doc, expected) => {
      const read = parsePolicy(doc, rcp);
      expect(located(read.findings.filter((f) => f.severity === 'error'))).toEqual(expected);
      expect(read.policy).toBeUndefined();
    });

    it('refuses an RCP without Version, which AWS Organizations requires', () => {
      expect(located(parsePolicy({ Statement: [perimeter] }, rcp).findings)).toEqual(['MISSING_VERSION at Version', 'RCP_VERSION at Version']);
    });
  });

  it('accepts in a role trust policy a Deny with NotAction that lists only actions of assuming the role', () => {
    const doc = policy(
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: '111122223333' } },
      { Effect: 'Deny', NotAction: ['sts:AssumeRole', 'sts:Tag*'], Principal: { AWS: '111122223333' } },
    );
    expect(located(parsePolicy(doc, { kind: 'resource', trust: true }).findings)).toEqual([]);
  });

  it('accepts in a role trust policy every action that comes with assuming the role, and wildcards that take one', () => {
    const actions = ['sts:AssumeRole', 'sts:AssumeRoleWithSAML', 'sts:assumerolewithwebidentity', 'sts:TagSession', 'sts:SetSourceIdentity', 'sts:SetContext', 'sts:*', 'sts:Assume*', '*'];
    const read = parsePolicy(policy({ Effect: 'Allow', Action: actions, Principal: { AWS: '111122223333' } }), { kind: 'resource', trust: true });
    expect(located(read.findings.filter((f) => f.severity === 'error'))).toEqual([]);
  });

  it.each(cases)('reports %s', (_why, doc, expected, kind) => {
    const { policy: parsed, findings } = parsePolicy(doc, kind === undefined ? {} : { kind });
    expect(located(findings)).toEqual(expected);
    expect(parsed).toBeUndefined();
  });

  it('reports a value that does not fit a Numeric operator at the path of its key', () => {
    const doc = policy(allow({ Sid: 'A' }), allow({ Sid: 'B', Action: 's3:PutObject' }), allow({ Sid: 'C', Condition: { NumericLessThan: { 'svc:x': 'ten' } } }));
    const { findings } = parsePolicy(doc);
    expect(findings).toEqual([
      {
        severity: 'error',
        code: 'INVALID_CONDITION_VALUE',
        path: 'Statement[2].Condition.NumericLessThan.svc:x',
        message: expect.stringContaining('"ten" is not a number'),
      },
    ]);
  });

  it.each([
    ['a slash without a prefix length', '10.0.0.0/'],
    ['a prefix length with a leading zero', '10.0.0.0/08'],
    ['a negative prefix length', '10.0.0.0/-1'],
    ['an IPv6 prefix too long', '2001:db8::/129'],
    ['an IPv6 zone index', 'fe80::1%eth0/64'],
    ['a blank before the address', ' 10.0.0.0/8'],
    ['an IPv4 octet with a leading zero', '010.0.0.0/8'],
    ['a range instead of a block', '10.0.0.1-10.0.0.9'],
  ])('refuses an IpAddress value with %s at load, naming file, JSON path and reason', (_why, cidr) => {
    const doc = policy(allow({ Condition: { NotIpAddress: { 'aws:SourceIp': ['192.0.2.0/24', cidr] } } }));
    const { policy: parsed, findings } = parsePolicy(doc, { file: 'policies/corp.json' });
    expect(parsed).toBeUndefined();
    expect(findings).toEqual([
      {
        severity: 'error',
        code: 'INVALID_CONDITION_VALUE',
        path: 'Statement[0].Condition.NotIpAddress.aws:SourceIp[1]',
        message: `NotIpAddress aws:SourceIp: ${JSON.stringify(cidr)} is not an IPv4 or IPv6 address or CIDR block`,
        file: 'policies/corp.json',
      },
    ]);
  });

  it.each([
    ['an integer beyond 2^53', '9007199254740993'],
    ['a decimal with more digits than a double holds', '0.10000000000000001'],
    ['a number too small for a double', '1e-400'],
  ])('refuses %s written as a JSON number, which would be read as another number', (_why, number) => {
    const text = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": [5, ${number}]}}}]}`;
    const { policy: parsed, findings } = parsePolicy(text, { file: 'p.json' });
    expect(parsed).toBeUndefined();
    expect(findings).toEqual([
      {
        severity: 'error',
        code: 'INEXACT_NUMBER',
        path: 'Statement[0].Condition.NumericLessThan.s3:max-keys[1]',
        message: `${number} is beyond what a JSON number holds exactly here: write it as a string, "${number}"`,
        file: 'p.json',
      },
    ]);
    expect(parsePolicy(text.replace(number, `"${number}"`)).policy).toBeDefined();
  });

  it('refuses a number too large for a double, which JSON.parse reads as Infinity', () => {
    const text = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": 1e400}}}]}';
    const { policy: parsed, findings } = parsePolicy(text);
    expect(parsed).toBeUndefined();
    expect(located(findings)).toEqual(['INEXACT_NUMBER at Statement[0].Condition.NumericLessThan.s3:max-keys', 'DATA_TYPE_MISMATCH at Statement[0].Condition.NumericLessThan.s3:max-keys']);
  });

  it.each(['0.1', '1.0', '-0', '1e3', '1E+21', '123456789012345', '0.000001', '5e-324'])('reads %s as the JSON number it is', (number) => {
    const text = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": ${number}}}}]}`;
    expect(parsePolicy(text).findings).toEqual([]);
  });

  it.each([
    ['StringEquals', 'aws:username'],
    ['ForAllValues:StringLike', 'aws:TagKeys'],
    ['StringNotEqualsIfExists', 'aws:PrincipalTag/team'],
  ])('refuses %s on %s with an empty value list, naming the operator, the key and what to write instead', (operator, key) => {
    const { policy: parsed, findings } = parsePolicy(withCondition({ [operator]: { [key]: [] } }), { file: 'p.json' });
    expect(parsed).toBeUndefined();
    expect(findings).toEqual([
      {
        severity: 'error',
        code: 'EMPTY_ARRAY',
        path: `Statement[0].Condition.${operator}.${key}`,
        message: `"${operator}" lists no value for "${key}", so it compares the request with nothing: list the values to compare, or use "Null" to test only whether the key is present ("false") or missing ("true")`,
        file: 'p.json',
      },
    ]);
  });

  it('hints at the right spelling of an element, an operator and a principal type', () => {
    const messages = (doc: unknown, kind?: PolicyKind): string =>
      parsePolicy(doc, kind === undefined ? {} : { kind }).findings.map((f) => f.message).join('\n');
    expect(messages(policy(without(allow({ action: 's3:*' }), 'Action')))).toContain('did you mean "Action"?');
    expect(messages(policy(allow({ Condtion: {} })))).toBe('"Condtion" is not a policy element here; did you mean "Condition"?');
    expect(messages({ ...policy(allow()), Statment: [] })).toContain('did you mean "Statement"?');
    expect(messages(policy(allow({ Frobnicate: 1 })))).toBe('"Frobnicate" is not a policy element here');
    expect(messages(withCondition({ stringequals: { 'aws:username': 'a' } }))).toContain('did you mean "StringEquals"?');
    expect(messages(trust({ Principal: { service: 'ec2.amazonaws.com' } }))).toContain('did you mean "Service"?');
    expect(messages(trust({ Principal: { AWS: 'arn:aws:iam::111122223333:root ' } }))).toBe('"arn:aws:iam::111122223333:root " has a blank at its start or end, which no principal name has: write "arn:aws:iam::111122223333:root"');
    expect(messages(trust({ Principal: { Service: ' ec2.amazonaws.com' } }))).toBe('" ec2.amazonaws.com" has a blank at its start or end, which no principal name has: write "ec2.amazonaws.com"');
  });

  it.each([
    ['a misspelt set qualifier', 'ForAnyValues:StringEquals', '"ForAnyValues:StringEquals" is not an IAM condition operator: "ForAnyValues" is not a set qualifier; did you mean "ForAnyValue"?'],
    ['a set qualifier in the wrong case', 'forallvalues:StringLikeIfExists', '"forallvalues:StringLikeIfExists" is not an IAM condition operator: "forallvalues" is not a set qualifier; qualifier names are case-sensitive: did you mean "ForAllValues"?'],
    ['a made-up qualifier', 'Each:StringEquals', '"Each:StringEquals" is not an IAM condition operator: "Each" is not a set qualifier; use ForAllValues or ForAnyValue'],
    ['a set qualifier with no operator', 'ForAnyValue', '"ForAnyValue" is not an IAM condition operator: a set qualifier takes an operator after a colon, as in "ForAnyValue:StringEquals"'],
    ['a set qualifier and a colon with no operator', 'ForAllValues:', '"ForAllValues:" is not an IAM condition operator: a set qualifier takes an operator after a colon, as in "ForAllValues:StringEquals"'],
    ['a misspelt operator after a set qualifier', 'ForAnyValue:StringEqualz', '"ForAnyValue:StringEqualz" is not an IAM condition operator; did you mean "StringEquals"?'],
  ])('says which part of an unknown condition operator is wrong: %s', (_why, operator, message) => {
    const { findings } = parsePolicy(withCondition({ [operator]: { 'aws:TagKeys': 'team' } }));
    expect(findings.map((f) => `${f.code} at ${f.path}: ${f.message}`)).toEqual([`UNKNOWN_CONDITION_OPERATOR at Statement[0].Condition.${operator}: ${message}`]);
  });

  it('collects every problem of a document, not just the first', () => {
    const doc = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Permit', Action: 'GetObject', Resource: 'bucket' },
        { Sid: 'X', Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { StringEqualz: { 'svc:x': 'y' } } },
      ],
    };
    expect(located(parsePolicy(doc).findings)).toEqual([
      'INVALID_EFFECT at Statement[0].Effect',
      'INVALID_ACTION at Statement[0].Action',
      'INVALID_RESOURCE at Statement[0].Resource',
      'UNKNOWN_CONDITION_OPERATOR at Statement[1].Condition.StringEqualz',
    ]);
  });

  it('records the file on every finding when one is given', () => {
    const { findings } = parsePolicy(policy(allow({ Effect: 'allow' })), { file: 'policies/read.json' });
    expect(findings.map((f) => f.file)).toEqual(['policies/read.json']);
    expect(parsePolicy(policy(allow({ Effect: 'allow' }))).findings[0]).not.toHaveProperty('file');
  });
});

describe('parsePolicy on JSON text', () => {
  it('reads a JSON string the same way as the parsed value', () => {
    const doc = policy(allow({ Condition: { NumericLessThan: { 's3:max-keys': 10 } } }));
    expect(parsePolicy(JSON.stringify(doc, null, 2))).toEqual(parsePolicy(doc));
  });

  it('reports a syntax error with its line and column', () => {
    const text = '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",, "Action": "*"}\n  ]\n}';
    const { policy: parsed, findings } = parsePolicy(text);
    expect(parsed).toBeUndefined();
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error', code: 'JSON_SYNTAX_ERROR', path: '' });
    expect(findings[0]?.message).toContain('line 4, column 24');
  });

  it.each([
    ['an unterminated document', '{"Version": "2012-10-17"', 'line 1, column 25'],
    ['trailing text', '{"Statement": {}} x', 'line 1, column 19'],
    ['a single-quoted string', "{'Version': '2012-10-17'}", 'line 1, column 2'],
    ['a raw newline inside a string', '{"Version": "2012-\n10-17"}', 'line 1, column 13'],
    ['an empty text', '', 'line 1, column 1'],
    // The slips of a hand-edited policy are named, with the element they follow.
    ['a trailing comma after the last element of a statement', '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",}]}', 'a trailing comma after Statement[0].Resource: JSON allows no comma before "}" at line 1, column 103'],
    ['a trailing comma after the last action of a list', '{"Version": "2012-10-17",\n "Statement": {"Effect": "Allow", "Action": ["s3:GetObject",\n ], "Resource": "*"}}', 'a trailing comma after Statement.Action[0]: JSON allows no comma before "]" at line 3, column 2'],
    ['a trailing comma after the last statement', '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, ]}', 'a trailing comma after Statement[0]: JSON allows no comma before "]" at line 1, column 94'],
    ['a comment', '// read-only\n{"Version": "2012-10-17"}', 'unexpected character "/" (JSON has no comments), expected a value at line 1, column 1'],
    ['single quotes', "{'Version': '2012-10-17'}", 'unexpected character "\'" (JSON quotes keys and strings with double quotes), expected a quoted key at line 1, column 2'],
  ])('locates %s', (_why, text, where) => {
    const { findings } = parsePolicy(text);
    expect(located(findings)).toEqual(['JSON_SYNTAX_ERROR at ']);
    expect(findings[0]?.message).toContain(where);
  });

  it('refuses a key given twice, which JSON.parse would silently resolve', () => {
    const text = '{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}}';
    const { policy: parsed, findings } = parsePolicy(text);
    expect(parsed).toBeUndefined();
    expect(located(findings.filter((f) => f.severity === 'error'))).toEqual(['DUPLICATE_KEY at Statement.Effect']);
  });

  it('treats a "__proto__" key as an unknown element, not as a prototype', () => {
    const { findings } = parsePolicy('{"Version": "2012-10-17", "__proto__": {"Statement": 1}, "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}');
    expect(located(findings)).toEqual(['UNKNOWN_KEY at __proto__']);
  });

  it('refuses nesting deeper than any policy needs', () => {
    const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const { findings } = parsePolicy(text);
    expect(located(findings)).toEqual(['JSON_SYNTAX_ERROR at ']);
    expect(findings[0]?.message).toContain('nesting deeper than');
  });

  it('ignores a leading byte-order mark', () => {
    expect(parsePolicy(`\uFEFF${JSON.stringify(policy(allow()))}`).findings).toEqual([]);
  });
});

describe('parsePolicy results', () => {
  it('accepts condition keys of OIDC providers whose names carry a path, as EKS workload identity uses', () => {
    const doc = policy(allow());
    const trust = {
      Version: '2012-10-17',
      Statement: {
        Effect: 'Allow',
        Principal: { Federated: 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE' },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { 'oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub': 'system:serviceaccount:orders:api' } },
      },
    };
    expect(parsePolicy(doc).findings).toEqual([]);
    expect(parsePolicy(trust, { kind: 'resource' }).findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('accepts tag condition keys whose tag keys hold blanks and letters outside ASCII, as IAM tags may', () => {
    const doc = withCondition({ StringEquals: { 'aws:ResourceTag/Cost Center': '42', 'aws:PrincipalTag/Kostenstelle Büro': 'b', 'aws:RequestTag/app:team': 'x' } });
    expect(parsePolicy(doc).findings).toEqual([]);
  });

  it('normalises single strings to lists and flattens conditions in document order', () => {
    const doc = {
      Version: '2012-10-17',
      Id: 'read-own-prefix',
      Statement: [
        {
          Sid: 'ReadOwn',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: ['arn:aws:s3:::bucket/${aws:username}/*'],
          Condition: {
            StringEquals: { 'aws:PrincipalTag/team': ['blue', 'green'], 's3:prefix': 'home/' },
            NumericLessThanEquals: { 's3:max-keys': 10 },
            Bool: { 'aws:SecureTransport': true },
          },
        },
        { Effect: 'Deny', NotAction: ['iam:*', 'sts:*'], NotResource: 'arn:aws:iam::111122223333:role/ops' },
      ],
    };
    const { policy: parsed, findings } = parsePolicy(doc);
    expect(findings).toEqual([]);
    expect(parsed).toEqual({
      version: '2012-10-17',
      id: 'read-own-prefix',
      statements: [
        {
          index: 0,
          sid: 'ReadOwn',
          effect: 'Allow',
          action: ['s3:GetObject'],
          resource: ['arn:aws:s3:::bucket/${aws:username}/*'],
          conditions: [
            { operator: 'StringEquals', key: 'aws:PrincipalTag/team', values: ['blue', 'green'], path: 'Statement[0].Condition.StringEquals.aws:PrincipalTag/team' },
            { operator: 'StringEquals', key: 's3:prefix', values: ['home/'], path: 'Statement[0].Condition.StringEquals.s3:prefix' },
            { operator: 'NumericLessThanEquals', key: 's3:max-keys', values: [10], path: 'Statement[0].Condition.NumericLessThanEquals.s3:max-keys' },
            { operator: 'Bool', key: 'aws:SecureTransport', values: [true], path: 'Statement[0].Condition.Bool.aws:SecureTransport' },
          ],
        },
        {
          index: 1,
          effect: 'Deny',
          notAction: ['iam:*', 'sts:*'],
          notResource: ['arn:aws:iam::111122223333:role/ops'],
          conditions: [],
        },
      ],
    });
  });

  it('reads a single-object Statement as statement 0 at path Statement', () => {
    const { policy: parsed, findings } = parsePolicy({
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'maybe' } } },
    });
    expect(located(findings)).toEqual(['INVALID_CONDITION_VALUE at Statement.Condition.Bool.aws:SecureTransport']);
    expect(parsed).toBeUndefined();
    const ok = parsePolicy({ Version: '2012-10-17', Statement: { Effect: 'Deny', Action: '*', Resource: '*' } });
    expect(ok.policy?.statements).toEqual([{ index: 0, effect: 'Deny', action: ['*'], resource: ['*'], conditions: [] }]);
  });

  it('reads a trust policy, which has no Resource, with every principal type', () => {
    const doc = trust({
      Principal: {
        AWS: ['*', '111122223333', 'arn:aws:iam::111122223333:root', 'arn:aws:iam::111122223333:role/path/ops', 'arn:aws:sts::111122223333:assumed-role/ops/alice', 'AROAEXAMPLEID12345678'],
        Service: ['ec2.amazonaws.com', 'lambda.amazonaws.com.cn'],
        Federated: ['accounts.google.com', 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com', 'arn:aws:iam::111122223333:saml-provider/corp'],
        CanonicalUser: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be',
      },
      Condition: { StringEquals: { 'sts:ExternalId': 'x-1' } },
    });
    const { policy: parsed, findings } = parsePolicy(doc, { kind: 'resource' });
    expect(findings).toEqual([]);
    expect(parsed?.statements[0]?.principal).toEqual({
      AWS: ['*', '111122223333', 'arn:aws:iam::111122223333:root', 'arn:aws:iam::111122223333:role/path/ops', 'arn:aws:sts::111122223333:assumed-role/ops/alice', 'AROAEXAMPLEID12345678'],
      Service: ['ec2.amazonaws.com', 'lambda.amazonaws.com.cn'],
      Federated: ['accounts.google.com', 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com', 'arn:aws:iam::111122223333:saml-provider/corp'],
      CanonicalUser: ['79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be'],
    });
  });

  it('accepts every kind of AWS principal ARN: account, user and role with a path, role session, federated user', () => {
    const names = [
      'arn:aws:iam::111122223333:root',
      'arn:aws:iam::111122223333:user/alice',
      'arn:aws:iam::111122223333:user/division/team/alice',
      'arn:aws:iam::111122223333:role/ops',
      'arn:aws-cn:sts::111122223333:assumed-role/ops/alice@example.com',
      'arn:aws:sts::111122223333:federated-user/bob',
    ];
    expect(parsePolicy(trust({ Principal: { AWS: names } }), { kind: 'resource' }).findings).toEqual([]);
  });

  it('reads a document that names a principal as resource-based when no kind is given', () => {
    const { policy: parsed, findings } = parsePolicy(trust({ Principal: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } } }));
    expect(findings).toEqual([]);
    expect(parsed?.statements[0]?.principal).toBe('*');
  });

  it('accepts every operator form IAM defines', () => {
    const conditions = {
      StringEqualsIgnoreCase: { 'aws:username': 'Alice' },
      StringNotLikeIfExists: { 'aws:userid': 'AIDA*' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'env'] },
      'ForAnyValue:StringLikeIfExists': { 'aws:PrincipalOrgPaths': 'o-a/r-b/*' },
      NumericGreaterThanEquals: { 'aws:MultiFactorAuthAge': '0' },
      DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' },
      DateGreaterThanEquals: { 'aws:EpochTime': 1700000000 },
      BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' },
      NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:db8::/32'] },
      ArnLike: { 'aws:SourceArn': 'arn:aws:sns:*:111122223333:*' },
      ArnNotEqualsIfExists: { 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/admin' },
      BinaryEquals: { 'svc:x': 'QmluYXJ5' },
      Null: { 'aws:TokenIssueTime': 'false' },
    };
    const { policy: parsed, findings } = parsePolicy(withCondition(conditions));
    // Accepted; only a warning that IfExists changes nothing under a set operator.
    expect(findings.map((f) => `${f.severity} ${f.code}`)).toEqual(['warning IF_EXISTS_UNDER_SET_OPERATOR']);
    expect(parsed?.statements[0]?.conditions.map((c) => c.operator)).toEqual(Object.keys(conditions));
  });

  it('accepts a Sid of ASCII letters and digits in an IAM policy, and blanks in a resource-based one', () => {
    // An empty Sid is valid; like Access Analyzer ("Empty Sid value") iamgate only suggests a name.
    const read = parsePolicy(policy(allow({ Sid: 'ReadObjects2026' }), allow({ Sid: '', Action: 's3:ListBucket' })), { kind: 'identity' });
    expect(located(read.findings, true)).toEqual(['suggestion EMPTY_SID at Statement[1].Sid']);
    expect(read.policy).toBeDefined();
    const bucketPolicy = policy(allow({ Sid: 'Allow read from the VPC', Principal: '*', Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } } }));
    expect(parsePolicy(bucketPolicy, { kind: 'resource' }).findings).toEqual([]);
  });

  it('holds a role trust policy, which IAM stores, to the Sid rule of IAM policies', () => {
    const trustPolicy = (sid: string): Doc => policy({ Sid: sid, Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'ec2.amazonaws.com' } });
    expect(parsePolicy(trustPolicy('TrustEC2'), { kind: 'resource', trust: true }).findings).toEqual([]);
    const { policy: parsed, findings } = parsePolicy(trustPolicy('Trust EC2'), { kind: 'resource', trust: true });
    expect(parsed).toBeUndefined();
    expect(located(findings)).toEqual(['INVALID_SID at Statement[0].Sid']);
    expect(findings[0]?.message).toBe('Sid "Trust EC2" may hold only ASCII letters and digits (A-Z, a-z, 0-9) in role trust policies');
  });

  it('accepts wildcards in every part of a resource but its service, and in the service of an ArnLike value', () => {
    const doc = policy(
      allow({ Resource: ['arn:*:s3:::bucket/*', 'arn:aws:sqs:us-?ast-1:111122223333:q*', 'arn:aws:sns:*'] }),
      allow({ Action: 's3:PutObject', Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:*:*:111122223333:*' } } }),
    );
    expect(parsePolicy(doc).findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('accepts a policy variable in the account and resource parts of a resource, and in any part of an ArnLike value', () => {
    const doc = policy(
      allow({ Resource: ['arn:aws:kms:*:${aws:PrincipalAccount}:key/*', 'arn:aws:s3:::home/${aws:username}/*'] }),
      allow({ Action: 's3:PutObject', Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:${aws:PrincipalTag/service}:*:${aws:PrincipalAccount}:*' } } }),
    );
    expect(parsePolicy(doc).findings).toEqual([]);
  });

  it('reads a variable in the service of a resource as literal text under 2008-10-17, with the warning', () => {
    const doc = { Version: '2008-10-17', Statement: allow({ Resource: 'arn:aws:${aws:username}:::bucket/*' }) };
    const { policy: parsed, findings } = parsePolicy(doc);
    expect(located(findings, true)).toEqual(['warning POLICY_VARIABLE_NOT_SUPPORTED at Statement.Resource']);
    expect(parsed).toBeDefined();
  });

  it('reads text that is not variable syntax as literal under 2008-10-17, where variables do not exist', () => {
    const doc = { Version: '2008-10-17', Statement: allow({ Resource: 'arn:aws:s3:::bucket/${aws:username', Condition: { StringEquals: { 's3:prefix': '${}' } } }) };
    const { policy: parsed, findings } = parsePolicy(doc);
    expect(located(findings, true)).toEqual(['warning POLICY_VARIABLE_NOT_SUPPORTED at Statement.Condition.StringEquals.s3:prefix']);
    expect(parsed).toBeDefined();
  });

  it('reads Version 2008-10-17 and keeps the version', () => {
    const { policy: parsed, findings } = parsePolicy({ ...policy(allow()), Version: '2008-10-17' });
    expect(findings).toEqual([]);
    expect(parsed?.version).toBe('2008-10-17');
  });
});
