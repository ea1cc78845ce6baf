import { describe, expect, it } from 'vitest';
import { compileConditions } from '../../src/policy/conditions/compile.js';
import { createContext } from '../../src/policy/context.js';
import type { ContextScalar, ContextValue, Effect, ParsedCondition, PolicyVersion } from '../../src/policy/types.js';

function condition(operator: string, key: string, values: readonly ContextScalar[]): ParsedCondition {
  return { operator, key, values, path: `Statement[0].Condition.${operator}.${key}` };
}

function holds(
  operator: string,
  key: string,
  values: readonly ContextScalar[],
  context: Record<string, ContextValue>,
  version: PolicyVersion = '2012-10-17',
  effect: Effect = 'Allow',
): boolean {
  return compileConditions([condition(operator, key, values)], version, effect).test(createContext(context));
}

type Case = readonly [rule: string, operator: string, key: string, values: readonly ContextScalar[], context: Record<string, ContextValue>, expected: boolean];

// Rules from the IAM User Guide, "IAM JSON policy elements: Condition operators" and
// "IAM JSON policy elements: Condition" (key names are case-insensitive; values within a key OR).
const strings: readonly Case[] = [
  ['StringEquals is an exact, case-sensitive match', 'StringEquals', 'aws:PrincipalTag/job-category', ['iamuser-admin'], { 'aws:PrincipalTag/job-category': 'iamuser-admin' }, true],
  ['StringEquals does not ignore case in values', 'StringEquals', 'aws:PrincipalTag/job-category', ['iamuser-admin'], { 'aws:PrincipalTag/job-category': 'IAMUser-Admin' }, false],
  ['condition key names are case-insensitive', 'StringEquals', 'AWS:PrincipalTag/Job-Category', ['iamuser-admin'], { 'aws:principaltag/job-category': 'iamuser-admin' }, true],
  ['a missing key does not match a positive operator', 'StringEquals', 'aws:PrincipalTag/job-category', ['iamuser-admin'], {}, false],
  ['several values under one key are OR-ed', 'StringEquals', 'aws:PrincipalTag/role', ['audit', 'security'], { 'aws:PrincipalTag/role': 'security' }, true],
  ['StringNotEquals holds when the key is missing', 'StringNotEquals', 'aws:PrincipalTag/role', ['audit'], {}, true],
  ['StringNotEquals with several values holds only if none is equal', 'StringNotEquals', 'aws:PrincipalTag/role', ['audit', 'security'], { 'aws:PrincipalTag/role': 'audit' }, false],
  ['StringNotEquals holds when no value is equal', 'StringNotEquals', 'aws:PrincipalTag/role', ['audit', 'security'], { 'aws:PrincipalTag/role': 'dev' }, true],
  ['StringEqualsIgnoreCase ignores case', 'StringEqualsIgnoreCase', 'aws:PrincipalTag/team', ['Red'], { 'aws:PrincipalTag/team': 'RED' }, true],
  ['StringNotEqualsIgnoreCase ignores case', 'StringNotEqualsIgnoreCase', 'aws:PrincipalTag/team', ['Red'], { 'aws:PrincipalTag/team': 'rED' }, false],
  ['StringLike matches a "*" wildcard', 'StringLike', 's3:prefix', ['home/*'], { 's3:prefix': 'home/alice/docs' }, true],
  ['StringLike matches a "?" wildcard', 'StringLike', 's3:prefix', ['log?'], { 's3:prefix': 'logs' }, true],
  ['StringLike is case-sensitive', 'StringLike', 's3:prefix', ['home/*'], { 's3:prefix': 'Home/alice' }, false],
  ['StringLike needs a wildcard for a partial match', 'StringLike', 's3:prefix', ['home'], { 's3:prefix': 'home/alice' }, false],
  ['StringNotLike holds when the key is missing', 'StringNotLike', 's3:prefix', ['home/*'], {}, true],
  ['StringNotLike fails when the pattern matches', 'StringNotLike', 's3:prefix', ['home/*'], { 's3:prefix': 'home/x' }, false],
  ['a star under StringEquals is a plain character', 'StringEquals', 's3:prefix', ['*'], { 's3:prefix': 'anything' }, false],
  ['a star under StringEquals matches a star', 'StringEquals', 's3:prefix', ['*'], { 's3:prefix': '*' }, true],
  ['a number in the context compares as text', 'StringEquals', 'aws:x', ['5'], { 'aws:x': 5 }, true],
  ['a number in the policy compares as text', 'StringEquals', 'aws:x', [5], { 'aws:x': '5' }, true],
];

const variables: readonly Case[] = [
  ['a variable in a value is replaced by the context value', 'StringLike', 's3:prefix', ['home/${aws:username}/*'], { 's3:prefix': 'home/alice/a', 'aws:username': 'alice' }, true],
  ['a variable must match the context value', 'StringLike', 's3:prefix', ['home/${aws:username}/*'], { 's3:prefix': 'home/bob/a', 'aws:username': 'alice' }, false],
  ['a variable works under StringEquals', 'StringEquals', 'aws:ResourceAccount', ['${aws:PrincipalAccount}'], { 'aws:ResourceAccount': '1', 'aws:PrincipalAccount': '1' }, true],
  ['a variable with no value does not match', 'StringEquals', 'aws:ResourceAccount', ['${aws:PrincipalAccount}'], { 'aws:ResourceAccount': '1' }, false],
  ['a negated operator matches when its variable has no value', 'StringNotEquals', 'aws:ResourceAccount', ['${aws:PrincipalAccount}'], { 'aws:ResourceAccount': '1' }, true],
  ['other values still match when one variable has no value', 'StringEquals', 'aws:x', ['${aws:username}', 'b'], { 'aws:x': 'b' }, true],
  ['a default supplies the missing value', 'StringEquals', 'aws:x', ["${aws:PrincipalTag/team, 'none'}"], { 'aws:x': 'none' }, true],
  ['an escaped star under StringLike is literal', 'StringLike', 'aws:x', ['a${*}'], { 'aws:x': 'abc' }, false],
  ['an escaped star under StringLike matches a star', 'StringLike', 'aws:x', ['a${*}'], { 'aws:x': 'a*' }, true],
  ['a substituted star under StringLike is literal', 'StringLike', 'aws:x', ['${aws:username}'], { 'aws:x': 'abc', 'aws:username': '*' }, false],
  ['StringEqualsIgnoreCase compares a variable without case', 'StringEqualsIgnoreCase', 'aws:x', ['${aws:username}'], { 'aws:x': 'ALICE', 'aws:username': 'alice' }, true],
  ['a variable under ArnLike', 'ArnLike', 'aws:SourceArn', ['arn:aws:iam::*:user/${aws:username}'], { 'aws:SourceArn': 'arn:aws:iam::1:user/alice', 'aws:username': 'alice' }, true],
  ['a variable under Bool', 'Bool', 'aws:x', ['${aws:y}'], { 'aws:x': true, 'aws:y': 'true' }, true],
];

const numbers: readonly Case[] = [
  ['NumericLessThan compares numbers', 'NumericLessThan', 'aws:MultiFactorAuthAge', ['3600'], { 'aws:MultiFactorAuthAge': 100 }, true],
  ['NumericLessThan fails at equality', 'NumericLessThan', 'aws:MultiFactorAuthAge', ['3600'], { 'aws:MultiFactorAuthAge': 3600 }, false],
  ['NumericLessThanEquals holds at equality', 'NumericLessThanEquals', 'aws:MultiFactorAuthAge', ['3600'], { 'aws:MultiFactorAuthAge': '3600' }, true],
  ['NumericGreaterThan compares numbers, not text', 'NumericGreaterThan', 's3:max-keys', ['9'], { 's3:max-keys': '10' }, true],
  ['NumericGreaterThanEquals', 'NumericGreaterThanEquals', 's3:max-keys', [10], { 's3:max-keys': 10 }, true],
  ['NumericEquals compares values, not notation', 'NumericEquals', 's3:max-keys', ['10'], { 's3:max-keys': '10.0' }, true],
  ['NumericNotEquals', 'NumericNotEquals', 's3:max-keys', ['10', '20'], { 's3:max-keys': 20 }, false],
  ['a non-numeric context value matches no number', 'NumericEquals', 's3:max-keys', ['10'], { 's3:max-keys': 'ten' }, false],
  ['a missing key fails a numeric comparison', 'NumericLessThan', 'aws:MultiFactorAuthAge', ['3600'], {}, false],
  ['decimals compare as numbers', 'NumericLessThan', 'aws:x', ['1.5'], { 'aws:x': '1.25' }, true],
];

const dates: readonly Case[] = [
  ['DateLessThan compares instants', 'DateLessThan', 'aws:CurrentTime', ['2020-04-01T00:00:00Z'], { 'aws:CurrentTime': '2019-12-31T23:59:59Z' }, true],
  ['DateLessThan fails after the date', 'DateLessThan', 'aws:CurrentTime', ['2020-04-01T00:00:00Z'], { 'aws:CurrentTime': '2020-04-01T00:00:01Z' }, false],
  ['a policy date may be epoch seconds', 'DateGreaterThan', 'aws:CurrentTime', ['1577836800'], { 'aws:CurrentTime': '2020-06-01T00:00:00Z' }, true],
  ['a context date may be epoch seconds', 'DateGreaterThanEquals', 'aws:EpochTime', ['2020-01-01T00:00:00Z'], { 'aws:EpochTime': 1577836800 }, true],
  ['time zones are compared as instants', 'DateEquals', 'aws:CurrentTime', ['2020-01-01T00:00:00Z'], { 'aws:CurrentTime': '2020-01-01T01:00:00+01:00' }, true],
  ['fractions of a second count', 'DateEquals', 'aws:CurrentTime', ['2020-01-01T00:00:00Z'], { 'aws:CurrentTime': '2020-01-01T00:00:00.500Z' }, false],
  ['a date alone is midnight UTC', 'DateEquals', 'aws:CurrentTime', ['2020-01-01'], { 'aws:CurrentTime': '2020-01-01T00:00:00Z' }, true],
  ['DateNotEquals', 'DateNotEquals', 'aws:CurrentTime', ['2020-01-01'], { 'aws:CurrentTime': '2020-01-02' }, true],
  ['DateLessThanEquals at equality', 'DateLessThanEquals', 'aws:TokenIssueTime', ['2020-01-01T00:00:00Z'], { 'aws:TokenIssueTime': '2020-01-01T00:00:00Z' }, true],
  ['a context value that is not a date matches nothing', 'DateLessThan', 'aws:CurrentTime', ['2020-01-01'], { 'aws:CurrentTime': 'yesterday' }, false],
];

const booleans: readonly Case[] = [
  ['Bool matches a boolean context value', 'Bool', 'aws:SecureTransport', ['false'], { 'aws:SecureTransport': false }, true],
  ['Bool matches boolean text', 'Bool', 'aws:SecureTransport', ['true'], { 'aws:SecureTransport': 'true' }, true],
  ['Bool fails on the other value', 'Bool', 'aws:MultiFactorAuthPresent', ['true'], { 'aws:MultiFactorAuthPresent': false }, false],
  ['Bool accepts a JSON boolean in the policy', 'Bool', 'aws:MultiFactorAuthPresent', [true], { 'aws:MultiFactorAuthPresent': 'TRUE' }, true],
  ['Bool fails when the key is missing', 'Bool', 'aws:MultiFactorAuthPresent', ['false'], {}, false],
  ['BoolIfExists holds when the key is missing', 'BoolIfExists', 'aws:MultiFactorAuthPresent', ['false'], {}, true],
  ['a context value that is not a boolean matches neither', 'Bool', 'aws:SecureTransport', ['false'], { 'aws:SecureTransport': 'no' }, false],
];

const binaries: readonly Case[] = [
  ['BinaryEquals compares base64 values', 'BinaryEquals', 'key', ['QmluYXJ5VmFsdWVJbkJhc2U2NA=='], { key: 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' }, true],
  ['BinaryEquals compares bytes, padding optional', 'BinaryEquals', 'key', ['QmluYXJ5VmFsdWVJbkJhc2U2NA=='], { key: 'QmluYXJ5VmFsdWVJbkJhc2U2NA' }, true],
  ['BinaryEquals fails on other bytes', 'BinaryEquals', 'key', ['QmluYXJ5VmFsdWVJbkJhc2U2NA=='], { key: 'QmluYXJ5VmFsdWVJbkJhc2U2NQ==' }, false],
  ['BinaryEquals fails on text that is not base64', 'BinaryEquals', 'key', ['QUJD'], { key: 'QU!D' }, false],
];

const addresses: readonly Case[] = [
  ['IpAddress matches inside an IPv4 block', 'IpAddress', 'aws:SourceIp', ['203.0.113.0/24'], { 'aws:SourceIp': '203.0.113.7' }, true],
  ['IpAddress fails outside the block', 'IpAddress', 'aws:SourceIp', ['203.0.113.0/24'], { 'aws:SourceIp': '203.0.114.7' }, false],
  ['IpAddress matches inside an IPv6 block', 'IpAddress', 'aws:SourceIp', ['2001:DB8:1234:5678::/64'], { 'aws:SourceIp': '2001:db8:1234:5678::1' }, true],
  ['IpAddress fails outside the IPv6 block', 'IpAddress', 'aws:SourceIp', ['2001:DB8:1234:5678::/64'], { 'aws:SourceIp': '2001:db8:1234:5679::1' }, false],
  ['a plain IPv4 address is a /32', 'IpAddress', 'aws:SourceIp', ['203.0.113.7'], { 'aws:SourceIp': '203.0.113.7' }, true],
  ['a plain IPv6 address is a /128', 'IpAddress', 'aws:SourceIp', ['2001:db8::1'], { 'aws:SourceIp': '2001:db8:0:0:0:0:0:1' }, true],
  ['0.0.0.0/0 contains every IPv4 address', 'IpAddress', 'aws:SourceIp', ['0.0.0.0/0'], { 'aws:SourceIp': '198.51.100.1' }, true],
  ['::/0 contains every IPv6 address', 'IpAddress', 'aws:SourceIp', ['::/0'], { 'aws:SourceIp': 'fe80::1' }, true],
  ['::/0 does not contain IPv4 addresses', 'IpAddress', 'aws:SourceIp', ['::/0'], { 'aws:SourceIp': '198.51.100.1' }, false],
  ['0.0.0.0/0 does not contain IPv6 addresses', 'IpAddress', 'aws:SourceIp', ['0.0.0.0/0'], { 'aws:SourceIp': '2001:db8::1' }, false],
  ['an IPv4-mapped IPv6 address is its IPv4 address', 'IpAddress', 'aws:SourceIp', ['203.0.113.0/24'], { 'aws:SourceIp': '::ffff:203.0.113.9' }, true],
  ['an IPv4-mapped IPv6 block is its IPv4 block', 'IpAddress', 'aws:SourceIp', ['::ffff:203.0.113.0/120'], { 'aws:SourceIp': '203.0.113.9' }, true],
  ['NotIpAddress holds when the key is missing', 'NotIpAddress', 'aws:SourceIp', ['192.0.2.0/24'], {}, true],
  ['NotIpAddress fails inside the block', 'NotIpAddress', 'aws:SourceIp', ['192.0.2.0/24', '203.0.113.0/24'], { 'aws:SourceIp': '203.0.113.5' }, false],
  ['NotIpAddress holds outside every block', 'NotIpAddress', 'aws:SourceIp', ['192.0.2.0/24', '203.0.113.0/24'], { 'aws:SourceIp': '198.51.100.5' }, true],
  ['a context value that is not an address matches no block', 'IpAddress', 'aws:SourceIp', ['0.0.0.0/0'], { 'aws:SourceIp': 'localhost' }, false],
];

const arns: readonly Case[] = [
  ['ArnLike matches component by component', 'ArnLike', 'aws:SourceArn', ['arn:aws:cloudtrail:*:111122223333:trail/*'], { 'aws:SourceArn': 'arn:aws:cloudtrail:us-east-2:111122223333:trail/main' }, true],
  ['ArnLike fails on another account', 'ArnLike', 'aws:SourceArn', ['arn:aws:cloudtrail:*:111122223333:trail/*'], { 'aws:SourceArn': 'arn:aws:cloudtrail:us-east-2:444455556666:trail/main' }, false],
  ['ArnEquals takes wildcards like ArnLike', 'ArnEquals', 'aws:SourceArn', ['arn:aws:sns:*:111122223333:topic'], { 'aws:SourceArn': 'arn:aws:sns:eu-west-1:111122223333:topic' }, true],
  ['ArnLike is case-sensitive', 'ArnLike', 'aws:SourceArn', ['arn:aws:sns:*:111122223333:Topic'], { 'aws:SourceArn': 'arn:aws:sns:eu-west-1:111122223333:topic' }, false],
  ['ArnNotLike holds when the key is missing', 'ArnNotLike', 'aws:PrincipalArn', ['arn:aws:iam::*:role/admin'], {}, true],
  ['ArnNotEquals fails on a match', 'ArnNotEquals', 'aws:PrincipalArn', ['arn:aws:iam::*:role/admin'], { 'aws:PrincipalArn': 'arn:aws:iam::1:role/admin' }, false],
  ['a context value that is not an ARN matches no ARN', 'ArnLike', 'aws:SourceArn', ['arn:aws:s3:::*'], { 'aws:SourceArn': 'bucket' }, false],
];

const nulls: readonly Case[] = [
  ['Null true holds when the key is missing', 'Null', 'aws:TokenIssueTime', ['true'], {}, true],
  ['Null true fails when the key is present', 'Null', 'aws:TokenIssueTime', ['true'], { 'aws:TokenIssueTime': '2020-01-01T00:00:00Z' }, false],
  ['Null false holds when the key is present', 'Null', 'aws:TokenIssueTime', ['false'], { 'aws:TokenIssueTime': '2020-01-01T00:00:00Z' }, true],
  ['Null false fails when the key is missing', 'Null', 'aws:TokenIssueTime', ['false'], {}, false],
  ['Null false fails on an empty set, so ForAllValues cannot pass on it vacuously', 'Null', 'aws:TagKeys', ['false'], { 'aws:TagKeys': [] }, false],
  ['Null true holds on an empty set', 'Null', 'aws:TagKeys', ['true'], { 'aws:TagKeys': [] }, true],
  ['Null false holds on a set with values', 'Null', 'aws:TagKeys', ['false'], { 'aws:TagKeys': ['a'] }, true],
  ['Null true holds on an empty string, whose value is null', 'Null', 'aws:x', [true], { 'aws:x': '' }, true],
  ['Null true holds on a set of empty strings', 'Null', 'aws:TagKeys', ['true'], { 'aws:TagKeys': ['', ''] }, true],
  ['an empty string is a key without a value', 'Null', 'aws:x', [false], { 'aws:x': '' }, false],
  ['a set of empty strings is a key without a value', 'Null', 'aws:TagKeys', [false], { 'aws:TagKeys': ['', ''] }, false],
  ['a set holding an empty string and a value has a value', 'Null', 'aws:TagKeys', [false], { 'aws:TagKeys': ['', 'a'] }, true],
];

const ifExists: readonly Case[] = [
  ['...IfExists holds when the key is missing', 'StringLikeIfExists', 'ec2:InstanceType', ['t1.*', 't2.*'], {}, true],
  ['...IfExists applies the operator when the key is present', 'StringLikeIfExists', 'ec2:InstanceType', ['t1.*', 't2.*'], { 'ec2:InstanceType': 'm5.large' }, false],
  ['...IfExists matches a present key', 'StringLikeIfExists', 'ec2:InstanceType', ['t1.*', 't2.*'], { 'ec2:InstanceType': 't2.micro' }, true],
  ['a negated ...IfExists holds when the key is missing', 'StringNotEqualsIfExists', 'aws:x', ['a'], {}, true],
  ['NumericLessThanIfExists', 'NumericLessThanIfExists', 'aws:MultiFactorAuthAge', ['3600'], { 'aws:MultiFactorAuthAge': 7200 }, false],
];

// IAM User Guide, "Set operators for multivalued context keys" and "Multivalued context key examples".
const sets: readonly Case[] = [
  ['ForAllValues holds when every context value matches a policy value', 'ForAllValues:StringEquals', 'aws:TagKeys', ['environment', 'cost-center'], { 'aws:TagKeys': ['environment', 'cost-center'] }, true],
  ['ForAllValues fails when one context value matches nothing', 'ForAllValues:StringEquals', 'aws:TagKeys', ['environment', 'cost-center'], { 'aws:TagKeys': ['environment', 'owner'] }, false],
  ['ForAllValues holds when the key is missing', 'ForAllValues:StringEquals', 'aws:TagKeys', ['environment'], {}, true],
  ['ForAllValues holds for an empty set', 'ForAllValues:StringEquals', 'aws:TagKeys', ['environment'], { 'aws:TagKeys': [] }, true],
  ['ForAllValues:StringLike applies wildcards to every value', 'ForAllValues:StringLike', 'aws:TagKeys', ['Created*'], { 'aws:TagKeys': ['CreatedBy', 'CreatedAt'] }, true],
  ['ForAllValues:StringNotLike fails when a value matches (key1:legal)', 'ForAllValues:StringNotLike', 'aws:TagKeys', ['key1*'], { 'aws:TagKeys': ['key1:legal'] }, false],
  ['ForAllValues:StringNotLike fails when every value matches', 'ForAllValues:StringNotLike', 'aws:TagKeys', ['key1*'], { 'aws:TagKeys': ['key1:hr', 'key1:personnel'] }, false],
  ['ForAllValues:StringNotLike holds when no value matches', 'ForAllValues:StringNotLike', 'aws:TagKeys', ['key1*'], { 'aws:TagKeys': ['key2:audit'] }, true],
  ['ForAllValues:StringNotLike holds when the key is missing', 'ForAllValues:StringNotLike', 'aws:TagKeys', ['key1*'], {}, true],
  ['ForAnyValue holds when one context value matches', 'ForAnyValue:StringEquals', 'aws:TagKeys', ['environment', 'cost-center'], { 'aws:TagKeys': ['owner', 'environment'] }, true],
  ['ForAnyValue fails when no context value matches', 'ForAnyValue:StringEquals', 'aws:TagKeys', ['environment'], { 'aws:TagKeys': ['owner'] }, false],
  ['ForAnyValue fails when the key is missing', 'ForAnyValue:StringEquals', 'aws:TagKeys', ['environment'], {}, false],
  ['ForAnyValue fails for an empty set', 'ForAnyValue:StringEquals', 'aws:TagKeys', ['environment'], { 'aws:TagKeys': [] }, false],
  ['ForAnyValue:StringNotEquals holds when some value equals none', 'ForAnyValue:StringNotEquals', 'aws:TagKeys', ['environment'], { 'aws:TagKeys': ['environment', 'owner'] }, true],
  ['ForAnyValue:StringNotEquals fails when every value is equal to one', 'ForAnyValue:StringNotEquals', 'aws:TagKeys', ['environment'], { 'aws:TagKeys': ['environment'] }, false],
  ['ForAnyValue:StringNotEquals fails when the key is missing', 'ForAnyValue:StringNotEquals', 'aws:TagKeys', ['environment'], {}, false],
  ['ForAnyValue...IfExists fails when the key is missing: the suffix does not lift the set rule', 'ForAnyValue:StringEqualsIfExists', 'aws:TagKeys', ['environment'], {}, false],
  ['ForAllValues...IfExists holds when the key is missing', 'ForAllValues:StringEqualsIfExists', 'aws:TagKeys', ['environment'], {}, true],
  ['ForAllValues holds for an empty string, a null dataset', 'ForAllValues:StringEquals', 'aws:TagKeys', ['environment'], { 'aws:TagKeys': '' }, true],
  ['ForAllValues holds for a set of empty strings', 'ForAllValues:StringEquals', 'aws:TagKeys', ['environment'], { 'aws:TagKeys': [''] }, true],
  ['ForAnyValue fails for an empty string, even one the policy lists', 'ForAnyValue:StringEquals', 'aws:TagKeys', [''], { 'aws:TagKeys': '' }, false],
  ['ForAnyValue...IfExists fails for a present key with an empty value', 'ForAnyValue:StringLikeIfExists', 'aws:TagKeys', ['*'], { 'aws:TagKeys': [''] }, false],
  ['an empty string beside a value is a member of the set', 'ForAllValues:StringEquals', 'aws:TagKeys', ['environment'], { 'aws:TagKeys': ['', 'environment'] }, false],
  ['an unqualified operator compares an empty string as text', 'StringEquals', 'aws:x', [''], { 'aws:x': '' }, true],
  ['a set qualifier treats a single value as a set of one', 'ForAnyValue:StringEquals', 'aws:x', ['a'], { 'aws:x': 'a' }, true],
  ['ForAllValues works with other families', 'ForAllValues:IpAddress', 'aws:x', ['10.0.0.0/8'], { 'aws:x': ['10.1.1.1', '10.2.2.2'] }, true],
  ['ForAnyValue:ArnLike', 'ForAnyValue:ArnLike', 'aws:x', ['arn:aws:iam::*:role/a'], { 'aws:x': ['arn:aws:iam::1:role/b', 'arn:aws:iam::1:role/a'] }, true],
  ['unqualified positive operator on an array: some value must match', 'StringEquals', 'aws:x', ['a'], { 'aws:x': ['b', 'a'] }, true],
  ['unqualified positive operator on an array: fails when none matches', 'StringEquals', 'aws:x', ['a'], { 'aws:x': ['b', 'c'] }, false],
  ['unqualified negated operator on an array: fails when one matches', 'StringNotEquals', 'aws:x', ['a'], { 'aws:x': ['b', 'a'] }, false],
  ['unqualified negated operator on an array: holds when none matches', 'StringNotEquals', 'aws:x', ['a'], { 'aws:x': ['b', 'c'] }, true],
  ['unqualified positive operator on an empty array fails', 'StringEquals', 'aws:x', ['a'], { 'aws:x': [] }, false],
  ['unqualified negated operator on an empty array holds', 'StringNotEquals', 'aws:x', ['a'], { 'aws:x': [] }, true],
];

describe('compileConditions', () => {
  describe.each([
    ['string operators', strings],
    ['policy variables in condition values', variables],
    ['numeric operators', numbers],
    ['date operators', dates],
    ['the Bool operator', booleans],
    ['the BinaryEquals operator', binaries],
    ['IP address operators', addresses],
    ['ARN operators', arns],
    ['the Null operator', nulls],
    ['...IfExists', ifExists],
    ['set operators and multivalued keys', sets],
  ])('%s', (_family, table) => {
    it.each(table)('%s', (_rule, operator, key, values, context, expected) => {
      expect(holds(operator, key, values, context)).toBe(expected);
    });
  });

  it('treats variables as literal text under 2008-10-17', () => {
    const context = { 'aws:x': 'alice', 'aws:username': 'alice' };
    expect(holds('StringEquals', 'aws:x', ['${aws:username}'], context, '2008-10-17')).toBe(false);
    expect(holds('StringEquals', 'aws:x', ['${aws:username}'], { 'aws:x': '${aws:username}' }, '2008-10-17')).toBe(true);
    expect(holds('StringEquals', 'aws:x', ['${aws:username}'], context, '2012-10-17')).toBe(true);
  });

  it('requires every key and every operator to hold', () => {
    const compiled = compileConditions(
      [
        condition('StringEquals', 'aws:PrincipalTag/team', ['red']),
        condition('StringEquals', 'aws:RequestedRegion', ['eu-west-1']),
        condition('Bool', 'aws:SecureTransport', ['true']),
      ],
      '2012-10-17',
      'Allow',
    );
    const all = { 'aws:PrincipalTag/team': 'red', 'aws:RequestedRegion': 'eu-west-1', 'aws:SecureTransport': true };
    expect(compiled.test(createContext(all))).toBe(true);
    expect(compiled.test(createContext({ ...all, 'aws:RequestedRegion': 'us-east-1' }))).toBe(false);
    expect(compiled.test(createContext({ ...all, 'aws:SecureTransport': false }))).toBe(false);
  });

  it('holds for an empty list of conditions', () => {
    expect(compileConditions([], '2012-10-17', 'Allow').test(createContext({}))).toBe(true);
  });

  it('explains every failing test with its path, operator, key and why', () => {
    const compiled = compileConditions(
      [
        condition('Bool', 'aws:MultiFactorAuthPresent', ['true']),
        condition('StringEquals', 'aws:PrincipalTag/Team', ['red']),
        condition('IpAddress', 'aws:SourceIp', ['10.0.0.0/8']),
      ],
      '2012-10-17',
      'Allow',
    );
    const ctx = createContext({ 'aws:principaltag/team': 'blue', 'aws:SourceIp': '10.1.2.3' });
    expect(compiled.test(ctx)).toBe(false);
    expect(compiled.explain(ctx)).toEqual([
      { path: 'Statement[0].Condition.Bool.aws:MultiFactorAuthPresent', operator: 'Bool', key: 'aws:MultiFactorAuthPresent', why: 'missing' },
      { path: 'Statement[0].Condition.StringEquals.aws:PrincipalTag/Team', operator: 'StringEquals', key: 'aws:PrincipalTag/Team', why: 'mismatch' },
    ]);
  });

  it('explains nothing when every test holds', () => {
    const compiled = compileConditions([condition('StringEquals', 'aws:x', ['a'])], '2012-10-17', 'Allow');
    expect(compiled.explain(createContext({ 'aws:x': 'a' }))).toEqual([]);
  });

  it('lists the lower-case keys the conditions and their variables read, once each', () => {
    const compiled = compileConditions(
      [
        condition('StringEquals', 'aws:PrincipalTag/Team', ['${aws:ResourceTag/Team}']),
        condition('Null', 'AWS:TokenIssueTime', ['true']),
        condition('StringLike', 'aws:principaltag/team', ["${aws:username, 'x'}"]),
      ],
      '2012-10-17',
      'Allow',
    );
    expect([...compiled.keys].sort()).toEqual([
      'aws:principaltag/team',
      'aws:resourcetag/team',
      'aws:tokenissuetime',
      'aws:username',
    ]);
  });

  it.each<[string, ContextValue]>([
    ['an empty string', ''],
    ['a set of empty strings', ['', '']],
  ])('reads a key holding %s as null in either effect: Null "true" holds, Null "false" fails', (_why, value) => {
    const context = { 'aws:key': value };
    expect(holds('Null', 'aws:key', ['true'], context, '2012-10-17', 'Allow')).toBe(true);
    expect(holds('Null', 'aws:key', ['true'], context, '2012-10-17', 'Deny')).toBe(true);
    expect(holds('Null', 'aws:key', ['false'], context, '2012-10-17', 'Allow')).toBe(false);
    expect(holds('Null', 'aws:key', ['false'], context, '2012-10-17', 'Deny')).toBe(false);
  });

  describe('fails closed', () => {
    it.each([
      ['an unknown operator', 'StringEqualz', ['a']],
      ['an operator in the wrong case', 'stringequals', ['a']],
      ['Null with IfExists', 'NullIfExists', ['true']],
      ['a value that is not a number', 'NumericLessThan', ['ten']],
      ['a value that is not a date', 'DateLessThan', ['soon']],
      ['a value that is not a CIDR block', 'IpAddress', ['10.0.0.0/33']],
      ['a value that is not a boolean', 'Bool', ['yes']],
      ['a Bool variable under 2008-10-17', 'Bool', ['${aws:x}']],
    ])('%s: never matches in an Allow statement, always in a Deny statement', (_why, operator, values) => {
      const version = operator === 'Bool' && values[0] === '${aws:x}' ? '2008-10-17' : '2012-10-17';
      for (const context of [{}, { 'aws:key': 'a' }, { 'aws:key': 5 }]) {
        expect(holds(operator, 'aws:key', values, context, version, 'Allow')).toBe(false);
        expect(holds(operator, 'aws:key', values, context, version, 'Deny')).toBe(true);
      }
    });

    it.each<[string, string, ContextScalar[], ContextValue]>([
      ['text that is not a number', 'NumericNotEquals', ['10'], 'ten'],
      ['a boolean under a numeric operator', 'NumericLessThan', ['10'], true],
      ['hexadecimal text under a numeric operator', 'NumericEquals', ['16'], '0x10'],
      ['text that is not a date', 'DateNotEquals', ['2020-01-01'], 'yesterday'],
      ['text that is not an address', 'NotIpAddress', ['10.0.0.0/8'], 'localhost'],
      ['a CIDR block where an address belongs', 'IpAddress', ['10.0.0.0/8'], '10.0.0.0/8'],
      ['text that is neither true nor false', 'Bool', ['false'], 'no'],
      ['a number under Bool', 'Bool', ['true'], 1],
      ['text that is not base64', 'BinaryEquals', ['QUJD'], 'QU!D'],
      ['a value that is not an ARN', 'ArnNotLike', ['arn:aws:iam::*:role/admin'], 'admin'],
      ['an ARN cut short', 'ArnLike', ['arn:aws:sns:*'], 'arn:aws:sns:topic'],
      ['one unreadable member of a set', 'ForAnyValue:IpAddress', ['10.0.0.0/8'], ['10.1.1.1', 'localhost']],
      ['one unreadable member under ForAllValues and a negated operator', 'ForAllValues:NotIpAddress', ['10.0.0.0/8'], ['192.0.2.1', 'x']],
      ['a present unreadable value under IfExists', 'NumericLessThanIfExists', ['10'], 'ten'],
    ])('a context value the operator cannot read (%s) denies: the test fails in an Allow, holds in a Deny', (_why, operator, values, value) => {
      expect(holds(operator, 'aws:key', values, { 'aws:key': value }, '2012-10-17', 'Allow')).toBe(false);
      expect(holds(operator, 'aws:key', values, { 'aws:key': value }, '2012-10-17', 'Deny')).toBe(true);
    });

    it('fails closed on a Bool variable that renders to neither true nor false, unless another value matches', () => {
      const context = { 'aws:key': true, 'aws:tag': 'maybe' };
      expect(holds('Bool', 'aws:key', ['${aws:tag}'], context, '2012-10-17', 'Allow')).toBe(false);
      expect(holds('Bool', 'aws:key', ['${aws:tag}'], context, '2012-10-17', 'Deny')).toBe(true);
      expect(holds('Bool', 'aws:key', ['${aws:tag}', 'true'], context, '2012-10-17', 'Allow')).toBe(true);
      expect(holds('Bool', 'aws:key', ['${aws:missing}'], context, '2012-10-17', 'Deny')).toBe(false);
    });

    it('reads every context value under a string operator, so none is unreadable there', () => {
      expect(holds('StringNotEquals', 'aws:key', ['10'], { 'aws:key': 'ten' }, '2012-10-17', 'Deny')).toBe(true);
      expect(holds('StringEquals', 'aws:key', ['10'], { 'aws:key': 'ten' }, '2012-10-17', 'Deny')).toBe(false);
    });

    it('explains a context value the operator cannot read as unreadable, not as a mismatch', () => {
      const compiled = compileConditions(
        [condition('NumericLessThan', 's3:max-keys', ['10']), condition('ForAnyValue:IpAddress', 'aws:SourceIp', ['10.0.0.0/8'])],
        '2012-10-17',
        'Allow',
      );
      const ctx = createContext({ 's3:max-keys': 'ten', 'aws:SourceIp': ['10.1.1.1', 'localhost'] });
      expect(compiled.explain(ctx).map((f) => [f.operator, f.why])).toEqual([
        ['NumericLessThan', 'unreadable'],
        ['ForAnyValue:IpAddress', 'unreadable'],
      ]);
      expect(compiled.explain(createContext({ 's3:max-keys': '12', 'aws:SourceIp': '10.1.1.1' })).map((f) => f.why)).toEqual(['mismatch']);
    });

    it('explains a fail-closed Allow condition as a mismatch', () => {
      const compiled = compileConditions([condition('StringEqualz', 'aws:x', ['a'])], '2012-10-17', 'Allow');
      expect(compiled.explain(createContext({ 'aws:x': 'a' }))).toEqual([
        { path: 'Statement[0].Condition.StringEqualz.aws:x', operator: 'StringEqualz', key: 'aws:x', why: 'mismatch' },
      ]);
    });
  });
});
