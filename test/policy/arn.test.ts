import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkArnPattern, compileArnMatcher, parseArn } from '../../src/policy/arn.js';

describe('parseArn', () => {
  it('splits the six components of an ARN', () => {
    expect(parseArn('arn:aws:iam::111122223333:user/alice')).toEqual({
      partition: 'aws',
      service: 'iam',
      region: '',
      account: '111122223333',
      resource: 'user/alice',
    });
  });

  it('keeps colons and slashes inside the resource part', () => {
    expect(parseArn('arn:aws:lambda:us-east-1:111122223333:function:my-fn:PROD')?.resource).toBe('function:my-fn:PROD');
    expect(parseArn('arn:aws:s3:::bucket/a/b:c')?.resource).toBe('bucket/a/b:c');
  });

  it.each([
    ['without the arn prefix', 'aws:iam::111122223333:user/alice'],
    ['with too few components', 'arn:aws:iam::111122223333'],
    ['with an empty partition', 'arn::iam::111122223333:user/alice'],
    ['with an empty service', 'arn:aws:::111122223333:user/alice'],
    ['with an empty resource', 'arn:aws:s3:::'],
    ['that is a wildcard', '*'],
  ])('rejects a string %s', (_why, s) => {
    expect(parseArn(s)).toBeUndefined();
  });
});

describe('checkArnPattern', () => {
  it.each([
    '*',
    'arn:aws:s3:::bucket/*',
    'arn:*:iam::*:role/*',
    'arn:aws:dynamodb:us-east-1:111122223333:table/Books',
    'arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}',
    'arn:aws:identitystore::*:identitystore/${aws:PrincipalTag/IdentityStoreId}',
    'arn:aws:sqs:*',
    'arn:aws:sqs:us-east-1:*',
  ])('accepts %s', (pattern) => {
    expect(checkArnPattern(pattern)).toBeUndefined();
  });

  it.each([
    ['a bare name', 'my-bucket'],
    ['a pattern with five components that does not end with "*"', 'arn:aws:iam::111122223333'],
    ['a cut-short pattern without its service', 'arn:aws*'],
    ['an empty service', 'arn:aws:::111122223333:x'],
    ['an empty resource', 'arn:aws:s3:::'],
    ['colons inside a variable that do not make up six parts', 'arn:aws:s3:${aws:username}'],
  ])('reports %s', (_why, pattern) => {
    expect(checkArnPattern(pattern)).toMatch(/./);
  });
});

// IAM User Guide, "ARN condition operators" and "IAM JSON policy elements: Resource": each of the
// six colon-delimited components is checked separately and can hold "*" and "?"; matching is
// case-sensitive; "*" alone is every resource.
const matching: readonly [rule: string, pattern: string, arn: string, expected: boolean][] = [
  ['"*" alone matches any resource', '*', 'arn:aws:s3:::bucket/key', true],
  ['"*" alone matches a request for "*"', '*', '*', true],
  ['an ARN pattern does not match the "*" resource', 'arn:aws:s3:::*', '*', false],
  ['an exact ARN matches itself', 'arn:aws:iam::111122223333:user/alice', 'arn:aws:iam::111122223333:user/alice', true],
  ['matching is case-sensitive', 'arn:aws:iam::111122223333:user/alice', 'arn:aws:iam::111122223333:user/Alice', false],
  ['a star in the resource spans slashes', 'arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/a/b/c', true],
  ['a star in the resource spans colons', 'arn:aws:lambda:*:*:function:*', 'arn:aws:lambda:us-east-1:1:function:fn:PROD', true],
  ['a star in the region does not span into the account', 'arn:aws:ec2:us-*-1:111:instance/i-1', 'arn:aws:ec2:us-east:2-1:111:instance/i-1', false],
  ['a star in the region stays inside the region', 'arn:aws:ec2:us-*-1:111:instance/i-1', 'arn:aws:ec2:us-east-1:111:instance/i-1', true],
  ['a star matches an empty region', 'arn:aws:iam:*:*:role/x', 'arn:aws:iam::111122223333:role/x', true],
  ['"?" matches one character in a component', 'arn:aws:s3:::log?', 'arn:aws:s3:::logs', true],
  ['each component is compared separately', 'arn:aws:s3:::*', 'arn:aws:iam::111122223333:user/alice', false],
  ['a wildcard partition', 'arn:*:s3:::bucket', 'arn:aws-cn:s3:::bucket', true],
  ['the account must match', 'arn:aws:iam::111122223333:*', 'arn:aws:iam::444455556666:user/bob', false],
  ['a value that is not an ARN matches no ARN pattern', 'arn:aws:s3:::*', 'not-an-arn', false],
  ['a pattern with fewer than six components and no closing star matches nothing', 'arn:aws:s3:x', 'arn:aws:s3:x:::bucket', false],
  ['a star ending a cut-short pattern spans the colons that follow', 'arn:aws:sqs:*', 'arn:aws:sqs:us-east-1:1:queue1', true],
  ['a star ending a cut-short region spans the account and resource', 'arn:aws:sqs:us-*', 'arn:aws:sqs:us-east-1:1:queue1', true],
  ['a cut-short pattern still compares its leading components', 'arn:aws:sqs:us-east-1:*', 'arn:aws:sqs:eu-west-1:1:queue1', false],
  ['a cut-short pattern still names its service', 'arn:aws:sqs:*', 'arn:aws:sns:us-east-1:1:topic', false],
  ['a star ending a middle component of a six-part pattern stays inside it', 'arn:aws:sqs:us-east-1:*:queue1', 'arn:aws:sqs:us-east-1:1:x:queue1', false],
  ['a non-wildcard pattern with fewer than six components matches nothing', 'bucket', 'bucket', false],
  ['a component pattern must cover the whole component', 'arn:aws:s3:::bucket', 'arn:aws:s3:::bucket2', false],
  ['a star inside a resource name', 'arn:aws:iam::*:role/*-admin', 'arn:aws:iam::1:role/ops-admin', true],
  ['text and a closing star in the resource match any rest, colons included', 'arn:aws:orders:::order/*', 'arn:aws:orders:::order/a:b', true],
  ['text and a closing star in the resource still need all of the text', 'arn:aws:orders:::order/*', 'arn:aws:orders:::orders', false],
  ['text and a closing star in the resource match nothing cut short before them', 'arn:aws:orders:::order/*', 'arn:aws:orders:::', false],
];

describe('compileArnMatcher', () => {
  it.each(matching)('%s: %s vs %s', (_rule, pattern, arn, expected) => {
    expect(compileArnMatcher(pattern)(arn)).toBe(expected);
  });

  it('agrees with a reference that splits both sides into six components', () => {
    const split = (s: string): string[] => {
      const parts = s.split(':');
      return [...parts.slice(0, 5), parts.slice(5).join(':')];
    };
    const glob = (p: string, t: string): boolean => {
      if (p === '') return t === '';
      if (p[0] === '*') return glob(p.slice(1), t) || (t !== '' && glob(p, t.slice(1)));
      return t !== '' && (p[0] === '?' || p[0] === t[0]) && glob(p.slice(1), t.slice(1));
    };
    const reference = (pattern: string, arn: string): boolean => {
      if (pattern === '*') return true;
      const short = pattern.split(':');
      if (short.length < 6) {
        // Cut short after the service with a closing "*": the last part takes the rest, colons included.
        if (short.length < 3 || !pattern.endsWith('*')) return false;
        const whole = arn.split(':');
        const last = short.length - 1;
        return short.slice(0, last).every((part, i) => glob(part, whole[i] ?? '')) && glob(short[last] as string, whole.slice(last).join(':'));
      }
      const p = split(pattern);
      const a = split(arn);
      return arn.split(':').length >= 6 && p.every((part, i) => glob(part, a[i] as string));
    };
    const piece = fc.array(fc.constantFrom('a', 'b', '/'), { maxLength: 4 }).map((a) => a.join(''));
    const arn = fc.array(piece, { minLength: 4, maxLength: 8 }).map((parts) => `arn:${parts.join(':')}`);
    // Patterns derived from an ARN (characters kept, turned into "?" or "*", stars inserted) so
    // that a good share of the cases match; a few characters are changed so that others do not.
    const derived = arn.chain((target) =>
      fc
        .tuple(
          fc.array(fc.constantFrom('keep', 'keep', 'keep', 'one', 'run', 'insert'), {
            minLength: target.length,
            maxLength: target.length,
          }),
          fc.option(fc.nat({ max: target.length - 1 }), { freq: 2 }),
        )
        .map(([edits, changeAt]) => {
          const pattern = [...target]
            .map((c, i) => {
              if (c === ':') return c;
              if (i === changeAt) return c === 'a' ? 'b' : 'a';
              const edit = edits[i];
              return edit === 'one' ? '?' : edit === 'run' ? '*' : edit === 'insert' ? `*${c}` : c;
            })
            .join('');
          return [pattern, target] as const;
        }),
    );
    const unrelated = fc.tuple(arn.map((a) => a.replace(/b/g, '*')), arn);
    let matched = 0;
    fc.assert(
      fc.property(fc.oneof(derived, unrelated), ([pattern, target]) => {
        const result = compileArnMatcher(pattern)(target);
        if (result) matched++;
        return result === reference(pattern, target);
      }),
      { numRuns: 3000 },
    );
    expect(matched).toBeGreaterThan(500);
  });

  it('compares characters that are special in regular expressions as plain text', () => {
    const text = 'arn:aws:s3:::x.y+(z)[1]{2}|^$\\/-';
    const prefix = compileArnMatcher(`${text}/*`);
    expect(prefix(`${text}/key`)).toBe(true);
    expect(prefix(`${text.replace('.', 'A')}/key`)).toBe(false);
    expect(prefix(`${text.replace('+', '')}/key`)).toBe(false);
    expect(prefix(`${text.replace('\\', '')}/key`)).toBe(false);
    const general = compileArnMatcher('arn:a.w+s:s3:*:*:b');
    expect(general('arn:a.w+s:s3:r:111122223333:b')).toBe(true);
    expect(general('arn:aXws:s3:r:111122223333:b')).toBe(false);
    expect(general('arn:a.wws:s3:r:111122223333:b')).toBe(false);
  });

  it('matches a pathological resource pattern without backtracking', () => {
    const pattern = `arn:aws:s3:::${'a*'.repeat(50)}b`;
    expect(compileArnMatcher(pattern)(`arn:aws:s3:::${'a'.repeat(20_000)}`)).toBe(false);
  });
});
