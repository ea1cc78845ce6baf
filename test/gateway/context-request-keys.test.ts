// The request's own global keys have one writer: the data path's context and the STS calls' keys
// are the same keys with the same values, spelt once, as the policy context spells every key.
import { describe, expect, it } from 'vitest';
import { timeKeys } from '../../src/auth/trust.js';
import { buildRequestContext, compileTrustedProxies, requestKeys, sourceAddress, type RequestFacts } from '../../src/gateway/context.js';
import type { RouteMatch } from '../../src/gateway/routes/index.js';
import { principalContext, type Principal } from '../../src/identity/index.js';
import { REQUEST_KEYS, type ContextValue } from '../../src/policy/index.js';

const trusted = compileTrustedProxies(['10.0.0.0/8']);
const facts: RequestFacts = {
  requestId: 'r',
  method: 'POST',
  target: '/orders/7',
  rawHeaders: ['User-Agent', 'curl/8', 'Referer', 'https://app.example/', 'X-Forwarded-For', '203.0.113.5', 'X-Forwarded-Proto', 'https'],
  peerAddress: '10.0.0.2',
  secure: false,
  now: Date.UTC(2026, 0, 31, 12, 0, 0, 500),
};
const context = principalContext(
  { type: 'User', arn: 'arn:aws:iam::111122223333:user/alice', principalArn: 'arn:aws:iam::111122223333:user/alice', account: '111122223333', userId: 'AIDA1', userName: 'alice', tags: { team: 'orders' }, mfa: true, mfaAt: facts.now - 60_000, issuedAt: facts.now - 120_000 },
  facts.now,
);
const principal = { arn: 'arn:aws:iam::111122223333:user/alice', context } as unknown as Principal;
const match: RouteMatch = { action: 'orders:CreateOrder', resource: 'arn:aws:orders:us-east-1:111122223333:order/7', route: 'POST /orders/:id', params: new Map([['id', '7']]), context: [] };
const requestKeyNames: ReadonlySet<string> = new Set(Object.values(REQUEST_KEYS));

/** Names that differ from another name of `names` only by case. */
function twiceSpelt(names: Iterable<string>): string[] {
  const seen = new Map<string, string>();
  const twice: string[] = [];
  for (const name of names) {
    const lower = name.toLowerCase();
    const other = seen.get(lower);
    if (other !== undefined && other !== name) twice.push(`${other} / ${name}`);
    seen.set(lower, name);
  }
  return twice;
}

describe('the request’s global condition keys', () => {
  it('are the same keys with the same values on the data path as in an STS call', () => {
    const sts = requestKeys(facts, trusted);
    const network = { sourceIp: sourceAddress(facts.peerAddress, facts.rawHeaders, trusted), secure: true };
    const built = buildRequestContext(principal, facts, match, '/orders/7', undefined, network);
    expect(built.ok).toBe(true);
    const pipeline: Record<string, ContextValue> = {};
    if (built.ok) for (const [key, value] of built.context) if (requestKeyNames.has(key)) pipeline[key] = value;
    expect(sts).toEqual(pipeline);
    expect(sts).toEqual({
      'aws:sourceip': '203.0.113.5',
      'aws:securetransport': true,
      'aws:currenttime': '2026-01-31T12:00:00Z',
      'aws:epochtime': 1769860800,
      'aws:principalisawsservice': false,
      'aws:viaawsservice': false,
      'aws:useragent': 'curl/8',
      'aws:referer': 'https://app.example/',
    });
  });

  it('are spelt as the policy context spells every key, so a context cannot hold one of them twice', () => {
    for (const name of requestKeyNames) expect(name).toBe(name.toLowerCase());
    const built = buildRequestContext(principal, facts, match, '/orders/7', undefined, { sourceIp: '203.0.113.5', secure: true });
    expect(built.ok && twiceSpelt(built.context.keys())).toEqual([]);
    expect(built.ok && [...built.context.keys()].filter((k) => k !== k.toLowerCase())).toEqual([]);
  });

  it('never meet the principal’s keys or the time of a decision without a request in another spelling in an STS call', () => {
    // What AssumeRole and RevokeSessions hand the engine: the principal's keys, the time, the call's keys.
    const merged = { ...context, ...timeKeys(facts.now), ...requestKeys(facts, trusted) };
    expect(twiceSpelt(Object.keys(merged))).toEqual([]);
    for (const key of Object.keys(timeKeys(facts.now))) expect(requestKeyNames.has(key)).toBe(true);
  });
});
