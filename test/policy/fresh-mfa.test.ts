// The context a decision is asked again in to tell `mfa_required` from another deny: the one rule
// the gateway, the STS endpoint and `iamgate test` share.
import { describe, expect, it } from 'vitest';
import { compilePolicy, createContext, evaluate, parsePolicy, withFreshMfa } from '../../src/policy/index.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const ORDER = 'arn:aws:orders:us-east-1:111122223333:order/1';

describe('the context with a fresh second factor', () => {
  it('says a second factor is present and was presented now, whatever the context said, and leaves the context it was given as it was', () => {
    const given = createContext({ 'aws:MultiFactorAuthPresent': false, 'aws:MultiFactorAuthAge': 7200, 'aws:SourceIp': '10.0.0.1' });
    const stepped = withFreshMfa(given);
    expect(Object.fromEntries(stepped)).toEqual({ 'aws:multifactorauthpresent': true, 'aws:multifactorauthage': 0, 'aws:sourceip': '10.0.0.1' });
    expect(Object.fromEntries(given)).toEqual({ 'aws:multifactorauthpresent': false, 'aws:multifactorauthage': 7200, 'aws:sourceip': '10.0.0.1' });
  });

  it('turns a deny for a second factor presented too long ago into an allow', () => {
    const { policy } = parsePolicy({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'orders:DeleteOrder', Resource: '*', Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '300' } } }],
    });
    const set = { identity: [compilePolicy(policy!, 'p', 'identity')] };
    const request = { principal: ALICE, action: 'orders:DeleteOrder', resource: ORDER, context: createContext({ 'aws:MultiFactorAuthPresent': true, 'aws:MultiFactorAuthAge': 3600 }) };
    expect(evaluate(set, request).decision).toBe('ImplicitDeny');
    expect(evaluate(set, { ...request, context: withFreshMfa(request.context) }).decision).toBe('Allow');
  });
});
