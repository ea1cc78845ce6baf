import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCrossAccount, patternAccount } from '../../src/policy/account.js';
import { compileArnMatcher } from '../../src/policy/arn.js';

describe('patternAccount', () => {
  it.each([
    ['an empty account', ['arn:aws:s3:::bucket/*'], ''],
    ['a literal account', ['arn:aws:orders:us-east-1:111122223333:order/*'], '111122223333'],
    ['patterns that agree', ['arn:aws:orders::111122223333:order/*', 'arn:aws:orders::111122223333:store/1'], '111122223333'],
    ['a variable in the resource part only', ['arn:aws:s3:::bucket/${aws:username}/*'], ''],
  ])('reads the account that %s fixes', (_why, patterns, account) => {
    expect(patternAccount(patterns)).toBe(account);
  });

  it.each([
    ['"*"', ['*']],
    ['a wildcard in the account', ['arn:aws:orders:us-east-1:*:order/*']],
    ['a "?" in the region', ['arn:aws:orders:us-east-?:111122223333:order/*']],
    ['a variable before the resource part', ['arn:aws:orders::${aws:PrincipalAccount}:order/*']],
    ['a pattern cut short', ['arn:aws:sqs:*']],
    ['patterns that disagree', ['arn:aws:orders::111122223333:order/*', 'arn:aws:orders::444455556666:order/*']],
    ['text that is not an ARN', ['urn:aws:orders::111122223333:order/1']],
  ])('leaves the account unknown for %s', (_why, patterns) => {
    expect(patternAccount(patterns)).toBeUndefined();
  });
});

describe('isCrossAccount', () => {
  it('answers the same from the account a matching pattern fixes as from the resource itself', () => {
    const account = fc.constantFrom('', 'aws', '111122223333', '444455556666', '11112222333');
    const principal = fc
      .tuple(fc.constantFrom('iam', 'sts'), account, fc.constantFrom('user/alice', 'assumed-role/r/s'))
      .map(([service, acct, name]) => `arn:aws:${service}::${acct}:${name}`);
    let known = 0;
    fc.assert(
      fc.property(account, fc.constantFrom('', 'us-east-1'), fc.constantFrom('order/*', 'order/1', '*'), account, principal,
        (patternAcct, region, rest, resourceAcct, caller) => {
          const pattern = `arn:aws:orders:${region}:${patternAcct}:${rest}`;
          const resource = `arn:aws:orders:${region}:${resourceAcct}:order/1`;
          if (!compileArnMatcher(pattern)(resource)) return true;
          const fixed = patternAccount([pattern]);
          if (fixed !== undefined) known++;
          return isCrossAccount(resource, caller, fixed) === isCrossAccount(resource, caller);
        }),
      { numRuns: 2000 },
    );
    expect(known).toBeGreaterThan(100);
  });

  it.each([
    ['the same account', 'arn:aws:orders::111122223333:order/1', '111122223333', false],
    ['another account', 'arn:aws:orders::444455556666:order/1', '444455556666', true],
    ['no account', 'arn:aws:s3:::bucket/k', '', false],
    ['an AWS-managed resource', 'arn:aws:iam::aws:policy/ReadOnlyAccess', 'aws', false],
  ])('tells a resource of %s apart with or without a known account', (_why, resource, fixed, expected) => {
    const caller = 'arn:aws:iam::111122223333:user/alice';
    expect(isCrossAccount(resource, caller)).toBe(expected);
    expect(isCrossAccount(resource, caller, fixed)).toBe(expected);
  });
});
