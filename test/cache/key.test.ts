import { describe, expect, it } from 'vitest';
import { createKeyBuilder, decisionKey, portableText, sharedKey, type DecisionKeyInput } from '../../src/cache/index.js';
import { compilePolicy, createContext, parsePolicy, type ContextValue, type PolicySet } from '../../src/policy/index.js';

const base: DecisionKeyInput = {
  fingerprint: 'fp1',
  generation: 'gen1',
  principal: 'arn:aws:iam::111122223333:user/alice',
  action: 'orders:GetOrder',
  resource: 'arn:aws:orders:::order/1',
  context: createContext({ 'aws:SourceIp': '10.0.0.1', 'aws:username': 'alice' }),
  keys: new Set(['aws:username', 'aws:principaltag/team']),
};

const withContext = (entries: Record<string, ContextValue>): DecisionKeyInput => ({ ...base, context: createContext(entries) });

function setOf(doc: unknown): PolicySet {
  const { policy, findings } = parsePolicy(doc);
  if (!policy) throw new Error(JSON.stringify(findings));
  return { identity: [compilePolicy(policy, 'p', 'identity')] };
}

describe('decision keys', () => {
  it('change with each thing a decision depends on', () => {
    const variants: DecisionKeyInput[] = [
      base,
      { ...base, fingerprint: 'fp2' },
      { ...base, generation: 'gen2' },
      { ...base, principal: 'arn:aws:iam::444455556666:user/alice' },
      { ...base, action: 'orders:ListOrders' },
      { ...base, action: 'ORDERS:GetOrder' },
      { ...base, resource: 'arn:aws:orders:::order/2' },
      withContext({ 'aws:username': 'bob' }),
      withContext({ 'aws:username': 'alice', 'aws:PrincipalTag/team': 'dev' }),
    ];
    const keys = variants.map((v) => decisionKey(v));
    expect(new Set(keys).size).toBe(variants.length);
  });

  it('ignore context keys that no policy of the set can read', () => {
    const a = decisionKey(withContext({ 'aws:username': 'alice', 'aws:SourceIp': '10.0.0.1', 'aws:UserAgent': 'curl' }));
    const b = decisionKey(withContext({ 'aws:username': 'alice', 'aws:SourceIp': '192.168.1.1' }));
    expect(a).toBeDefined();
    expect(a).toBe(b);
  });

  it('tell a missing key from an empty set, an empty string and each value type', () => {
    const team = 'aws:PrincipalTag/team';
    const values: (ContextValue | undefined)[] = [undefined, [], '', 'true', true, false, 1, '1', -0, 0, ['a', 'b'], ['b', 'a'], ['a,b'], 'n1'];
    const keys = values.map((v) => decisionKey(withContext(v === undefined ? {} : { [team]: v })));
    expect(new Set(keys).size).toBe(values.length);
  });

  it('never give two texts that encode to the same bytes the same key', () => {
    // A lone surrogate and U+FFFD are the same bytes once UTF-8 encoded; the keys must still differ.
    const a = decisionKey(withContext({ 'aws:username': '\ud800' }));
    const b = decisionKey(withContext({ 'aws:username': '\ufffd' }));
    expect(a).not.toBe(b);
    expect(sharedKey('p:', a as string)).not.toBe(sharedKey('p:', b as string));
  });

  it('cannot be confused by values that contain the separators', () => {
    const a = decisionKey({ ...base, action: 'ab', resource: 'c' });
    const b = decisionKey({ ...base, action: 'a', resource: 'bc' });
    expect(a).not.toBe(b);
    expect(decisionKey({ ...base, action: '1:a', resource: 'b' })).not.toBe(decisionKey({ ...base, action: '1', resource: ':ab' }));
    const c = decisionKey(withContext({ 'aws:username': 'xs1:y', 'aws:PrincipalTag/team': 's1:x' }));
    const d = decisionKey(withContext({ 'aws:username': 'x', 'aws:PrincipalTag/team': 's1:xs1:y' }));
    expect(c).not.toBe(d);
  });

  it('are not made for policy sets that read a time-varying key', () => {
    const timed = setOf({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '300' } } }],
    });
    const plain = setOf({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
    const keys = createKeyBuilder();
    expect(keys.cacheable(timed)).toBe(false);
    expect(keys.key({ ...base, keys: keys.keysOf(timed) })).toBeUndefined();
    expect(keys.cacheable(plain)).toBe(true);
    expect(keys.key({ ...base, keys: keys.keysOf(plain) })).toBeDefined();
    for (const key of ['aws:CurrentTime', 'aws:EpochTime', 'aws:TokenIssueTime']) {
      expect(decisionKey({ ...base, keys: new Set([key.toLowerCase()]) })).toBeUndefined();
    }
  });

  it('are the same whether memoised or not, and memoise the key set per policy set', () => {
    const set = setOf({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: 'arn:aws:orders:::order/${aws:username}', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }],
    });
    const keys = createKeyBuilder();
    const readable = keys.keysOf(set);
    expect(keys.keysOf(set)).toBe(readable);
    expect([...readable].sort()).toEqual(['aws:securetransport', 'aws:username']);
    const built = keys.key({ ...base, keys: readable });
    expect(built && portableText(built)).toBe(decisionKey({ ...base, keys: readable }));
    // An equal key set in another object names the same scope.
    expect(keys.key({ ...base, keys: new Set(readable) })?.local).toBe(built?.local);
  });

  it('are short in process, with a number that is never reused for another fingerprint or generation', () => {
    const keys = createKeyBuilder();
    const a = keys.key(base);
    const seen = new Set<string>([a?.local ?? '']);
    for (const change of [{ fingerprint: 'fp2' }, { generation: 'gen2' }, { keys: new Set(['aws:username']) }]) {
      const k = keys.key({ ...base, ...change });
      expect(k?.request).toBeDefined();
      seen.add(k?.local ?? '');
    }
    keys.reset();
    seen.add(keys.key(base)?.local ?? '');
    expect(seen.size).toBe(5);
    expect(a?.local.length).toBeLessThan(decisionKey(base)?.length ?? 0);
    expect(keys.owns(a!)).toBe(true);
    expect(createKeyBuilder().owns(a!)).toBe(false);
  });

  it('reach Redis only as a SHA-256 digest, never as the principal or context values', () => {
    const text = decisionKey(withContext({ 'aws:username': 'alice-secret-value' })) as string;
    const shared = sharedKey('iamgate:decision:', text);
    expect(shared).toMatch(/^iamgate:decision:[A-Za-z0-9_-]{43}$/);
    expect(shared).not.toContain('alice');
  });
});
