import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/policy/context.js';
import type { ContextValue, PolicyVersion } from '../../src/policy/types.js';
import {
  checkPolicyVariables,
  compileLikePattern,
  compileResourcePattern,
  compileSpanningResourcePattern,
  compileTextTemplate,
} from '../../src/policy/variables.js';

const V2012: PolicyVersion = '2012-10-17';
const V2008: PolicyVersion = '2008-10-17';
const alice = createContext({ 'aws:username': 'alice', 'aws:PrincipalTag/team': 'red', 'aws:PrincipalAccount': '111122223333' });

// IAM User Guide, "IAM policy elements: Variables and tags".
const resources: readonly [
  rule: string,
  pattern: string,
  version: PolicyVersion,
  context: Record<string, ContextValue>,
  arn: string,
  expected: boolean,
][] = [
  ['a variable is replaced by the context value', 'arn:aws:s3:::bucket/${aws:username}/*', V2012, { 'aws:username': 'alice' }, 'arn:aws:s3:::bucket/alice/notes.txt', true],
  ['the replaced value must match', 'arn:aws:s3:::bucket/${aws:username}/*', V2012, { 'aws:username': 'alice' }, 'arn:aws:s3:::bucket/bob/notes.txt', false],
  ['variable names are case-insensitive', 'arn:aws:s3:::bucket/${AWS:UserName}/*', V2012, { 'aws:username': 'alice' }, 'arn:aws:s3:::bucket/alice/x', true],
  ['tags work as variables', 'arn:aws:s3:::${aws:PrincipalTag/team}-data/*', V2012, { 'aws:PrincipalTag/team': 'red' }, 'arn:aws:s3:::red-data/x', true],
  ['variables work outside the resource part', 'arn:aws:iam::${aws:PrincipalAccount}:user/*', V2012, { 'aws:PrincipalAccount': '111122223333' }, 'arn:aws:iam::111122223333:user/alice', true],
  ['under 2008-10-17 a variable is literal text', 'arn:aws:s3:::bucket/${aws:username}/*', V2008, { 'aws:username': 'alice' }, 'arn:aws:s3:::bucket/alice/x', false],
  ['under 2008-10-17 the literal text matches itself', 'arn:aws:s3:::bucket/${aws:username}/*', V2008, {}, 'arn:aws:s3:::bucket/${aws:username}/x', true],
  ['a variable with no value matches nothing', 'arn:aws:s3:::bucket/${aws:username}/*', V2012, {}, 'arn:aws:s3:::bucket//x', false],
  ['a default stands in for a missing key', "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*", V2012, {}, 'arn:aws:s3:::bucket/company-wide/x', true],
  ['a default is not used when the key has a value', "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*", V2012, { 'aws:PrincipalTag/team': 'red' }, 'arn:aws:s3:::bucket/company-wide/x', false],
  ['spaces around the key and the default are ignored', "arn:aws:s3:::bucket/${ aws:username ,  'guest' }", V2012, {}, 'arn:aws:s3:::bucket/guest', true],
  ['a doubled quote in a default is one quote', "arn:aws:s3:::bucket/${aws:x, 'o''brien'}", V2012, {}, "arn:aws:s3:::bucket/o'brien", true],
  ['${*} is a literal star', 'arn:aws:s3:::bucket/${*}', V2012, {}, 'arn:aws:s3:::bucket/*', true],
  ['${*} is not a wildcard', 'arn:aws:s3:::bucket/${*}', V2012, {}, 'arn:aws:s3:::bucket/anything', false],
  ['${?} is a literal question mark', 'arn:aws:s3:::bucket/a${?}', V2012, {}, 'arn:aws:s3:::bucket/ab', false],
  ['${?} matches a question mark', 'arn:aws:s3:::bucket/a${?}', V2012, {}, 'arn:aws:s3:::bucket/a?', true],
  ['${$} is a literal dollar', 'arn:aws:s3:::bucket/${$}{x}', V2012, {}, 'arn:aws:s3:::bucket/${x}', true],
  ['a star in a substituted value is literal', 'arn:aws:s3:::bucket/${aws:username}/*', V2012, { 'aws:username': '*' }, 'arn:aws:s3:::bucket/bob/x', false],
  ['a star in a substituted value matches a star', 'arn:aws:s3:::bucket/${aws:username}/*', V2012, { 'aws:username': '*' }, 'arn:aws:s3:::bucket/*/x', true],
  ['a question mark in a substituted value is literal', 'arn:aws:s3:::bucket/${aws:username}', V2012, { 'aws:username': 'a?' }, 'arn:aws:s3:::bucket/ab', false],
  ['a multivalued context key cannot be a variable', 'arn:aws:s3:::bucket/${aws:username}', V2012, { 'aws:username': ['alice'] }, 'arn:aws:s3:::bucket/alice', false],
  ['a multivalued context key falls back to the default', "arn:aws:s3:::bucket/${aws:username, 'guest'}", V2012, { 'aws:username': ['alice'] }, 'arn:aws:s3:::bucket/guest', true],
  ['numbers and booleans render as text', 'arn:aws:s3:::bucket/${aws:x}-${aws:y}', V2012, { 'aws:x': 7, 'aws:y': true }, 'arn:aws:s3:::bucket/7-true', true],
  ['a colon in a value stays inside its component', 'arn:aws:iam::${aws:x}:user/a', V2012, { 'aws:x': '1:user' }, 'arn:aws:iam::1:user:user/a', false],
  ['a colon in a value may match inside the resource part', 'arn:aws:s3:::bucket/${aws:userid}', V2012, { 'aws:userid': 'AIDA:s' }, 'arn:aws:s3:::bucket/AIDA:s', true],
  ['a malformed variable matches nothing', 'arn:aws:s3:::bucket/${aws:username', V2012, { 'aws:username': 'alice' }, 'arn:aws:s3:::bucket/${aws:username', false],
  ['an empty value is a value', 'arn:aws:s3:::bucket/${aws:username}x', V2012, { 'aws:username': '' }, 'arn:aws:s3:::bucket/x', true],
];

describe('compileResourcePattern', () => {
  it.each(resources)('%s', (_rule, pattern, version, context, arn, expected) => {
    expect(compileResourcePattern(pattern, version).test(arn, createContext(context))).toBe(expected);
  });

  it('lists the lower-case keys its variables read', () => {
    const pattern = compileResourcePattern("arn:aws:s3:::${aws:PrincipalTag/Team}/${AWS:username, 'x'}/${*}", V2012);
    expect([...pattern.keys].sort()).toEqual(['aws:principaltag/team', 'aws:username']);
  });

  it('reads no keys under 2008-10-17', () => {
    expect(compileResourcePattern('arn:aws:s3:::${aws:username}', V2008).keys).toEqual([]);
  });

  it('compiles a pattern without variables to plain ARN matching', () => {
    const pattern = compileResourcePattern('arn:aws:s3:::bucket/*', V2012);
    expect(pattern.keys).toEqual([]);
    expect(pattern.test('arn:aws:s3:::bucket/key', alice)).toBe(true);
  });
});

describe('compileSpanningResourcePattern', () => {
  const ctx = createContext({ 'aws:username': 'al:ice' });
  const spans = (pattern: string, arn: string): boolean => compileSpanningResourcePattern(pattern, '2012-10-17').test(arn, ctx);

  it('lets a star before the last component run across colons, as StringLike does', () => {
    const pattern = 'arn:aws:someservice:*:111122223333:finance/*';
    const arn = 'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt';
    expect(spans(pattern, arn)).toBe(true);
    expect(compileResourcePattern(pattern, '2012-10-17').test(arn, ctx)).toBe(false);
    expect(spans('arn:aws:sqs:us-*-1:*', 'arn:aws:sqs:us-e:x-1:queue')).toBe(true);
    expect(compileResourcePattern('arn:aws:sqs:us-*-1:*', '2012-10-17').test('arn:aws:sqs:us-e:x-1:queue', ctx)).toBe(false);
  });

  it('matches what the component reading matches, and no more where the ARN has no colon to spare', () => {
    expect(spans('arn:aws:ec2:*:111122223333:instance/*', 'arn:aws:ec2:us-east-1:111122223333:instance/i-1')).toBe(true);
    expect(spans('arn:aws:ec2:*:111122223333:instance/*', 'arn:aws:ec2:us-east-1:999999999999:instance/i-1')).toBe(false);
    expect(spans('arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket')).toBe(false);
    expect(spans('arn:aws:x:r:a:b', 'arn:aws:x:r:a:b:c')).toBe(false);
  });

  it('takes exactly what the component reading or the text reading takes, on generated patterns and ARNs', () => {
    const segment = fc.constantFrom('', 'a', 'b', 'a:b', 'ab');
    const patternSegment = fc.constantFrom('*', 'a', 'a*', '*b', '?', 'b', '${aws:username}');
    const arn = fc.array(segment, { minLength: 3, maxLength: 5 }).map((parts) => `arn:aws:svc:${parts.join(':')}`);
    const pattern = fc.array(patternSegment, { minLength: 3, maxLength: 3 }).map((parts) => `arn:aws:svc:${parts.join(':')}`);
    const seen = { component: 0, textOnly: 0 };
    fc.assert(
      fc.property(pattern, arn, (p, a) => {
        const component = compileResourcePattern(p, '2012-10-17').test(a, ctx);
        const text = compileLikePattern(p, '2012-10-17', false).test(a, ctx);
        if (component) seen.component++;
        else if (text) seen.textOnly++;
        expect(compileSpanningResourcePattern(p, '2012-10-17').test(a, ctx)).toBe(component || text);
      }),
      { numRuns: 3000, seed: 6 },
    );
    // Both readings took something, and the text reading took ARNs the component reading did not.
    expect(seen.component).toBeGreaterThan(0);
    expect(seen.textOnly).toBeGreaterThan(0);
  });

  it('reads a variable value holding a colon as text that may take a colon of the ARN', () => {
    expect(spans('arn:aws:iam::${aws:username}:user/*', 'arn:aws:iam::al:ice:user/x')).toBe(true);
    expect(compileResourcePattern('arn:aws:iam::${aws:username}:user/*', '2012-10-17').test('arn:aws:iam::al:ice:user/x', ctx)).toBe(false);
    expect(spans('arn:aws:iam::${aws:username}:user/*', 'arn:aws:iam::alice:user/x')).toBe(false);
  });
});

describe('compileLikePattern', () => {
  it('keeps wildcards from the policy text and makes substituted text literal', () => {
    const pattern = compileLikePattern('home/${aws:username}/*', V2012, false);
    expect(pattern.test('home/alice/docs', alice)).toBe(true);
    expect(pattern.test('home/bob/docs', alice)).toBe(false);
    expect(pattern.test('home/a*/docs', createContext({ 'aws:username': 'a*' }))).toBe(true);
    expect(pattern.test('home/ab/docs', createContext({ 'aws:username': 'a*' }))).toBe(false);
  });
});

describe('compileTextTemplate', () => {
  it('is a constant when there are no variables, escapes resolved', () => {
    expect(compileTextTemplate('a${*}b${$}', V2012).constant).toBe('a*b$');
    expect(compileTextTemplate('a${*}b', V2008).constant).toBe('a${*}b');
  });

  it('renders variables per request and gives undefined for one with no value', () => {
    const template = compileTextTemplate('${aws:PrincipalTag/team}-${aws:username}', V2012);
    expect(template.constant).toBeUndefined();
    expect(template.render(alice)).toBe('red-alice');
    expect(template.render(createContext({}))).toBeUndefined();
  });
});

describe('checkPolicyVariables', () => {
  it.each([
    ['an unterminated variable', 'bucket/${aws:username'],
    ['an empty name', 'bucket/${}'],
    ['an unquoted default', 'bucket/${aws:x, guest}'],
    ['an unterminated default', "bucket/${aws:x, 'guest}"],
    ['text after the default', "bucket/${aws:x, 'guest' y}"],
  ])('reports %s', (_why, text) => {
    expect(checkPolicyVariables(text)).toMatch(/./);
  });

  it.each(['bucket/${aws:username}/*', "${aws:PrincipalTag/team, 'x'}", '${*}${?}${$}', 'no variables', '$ alone'])(
    'accepts %s',
    (text) => {
      expect(checkPolicyVariables(text)).toBeUndefined();
    },
  );
});
