// The audit log's record encoder against the reference layout: for any event, the text it writes
// is byte for byte canonicalJson of buildAuditEvent's record in the same place of the chain, so
// `audit verify` reads both alike.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAuditEvent, REDACTED, type BuildDeps } from '../../src/audit/build.js';
import { canonicalJson, type CanonicalValue } from '../../src/audit/canonical.js';
import { createChain, recordHash } from '../../src/audit/chain.js';
import { createEventEncoder, FRAGMENTS_PER_FIELD } from '../../src/audit/encode.js';
import { createIsoClock } from '../../src/audit/ids.js';
import type { AuditEventInput, AuditRecord } from '../../src/audit/schema.js';
import { decisionEvent } from './support.js';

const TOKEN = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2ln';

/** Two identical sources of time and ids, one for each side. */
function twinDeps(times: readonly number[]): [BuildDeps, BuildDeps] {
  const make = (): BuildDeps => {
    let t = 0;
    let id = 0;
    return { now: () => times[t++ % times.length] as number, randomId: () => `id-${++id}`, isoTime: createIsoClock() };
  };
  return [make(), make()];
}

/** Seals each event both ways and returns the pairs of lines. */
function bothWays(events: readonly AuditEventInput[], times: readonly number[] = [Date.parse('2026-01-02T03:04:05.678Z')]): [string, string][] {
  const [refDeps, fastDeps] = twinDeps(times);
  const reference = createChain('gw-"enc"\u2028');
  const fast = createChain('gw-"enc"\u2028');
  const encode = createEventEncoder(fast.instanceId, fastDeps);
  return events.map((e) => [reference.seal(buildAuditEvent(e, refDeps)).line, fast.sealText(encode, e).line]);
}

const texts = fc.oneof(
  fc.constantFrom('', 'allowed', 'orders:GetOrder', 'GET', 'arn:aws:iam::111122223333:user/alice', TOKEN, `x ${TOKEN} y`, 'a"b\\c\n\u0000\u2028', '\ud800', 'é😀'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 60, maxLength: 900 }),
);
const scalars = fc.oneof(texts, fc.integer(), fc.double(), fc.constantFrom(-0, 1e21, 0.1234567, Number.NaN, Infinity), fc.boolean(), fc.constant(null), fc.constant(undefined));
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> => fc.oneof(arb, scalars);

const events: fc.Arbitrary<AuditEventInput> = fc
  .record(
    {
      kind: fc.constantFrom('request', 'forward_auth', 'ext_authz', 'sts', 'mfa', 'policy_reload', 'revocation', 'outcome', 'tunnel_close'),
      reason: maybe(texts),
      requestId: maybe(texts),
      principal: maybe(fc.record({ arn: maybe(texts), type: maybe(texts), session: maybe(texts), sourceIdentity: maybe(texts) }, { requiredKeys: [] })),
      authn: maybe(fc.record({ issuer: maybe(texts), methods: maybe(fc.array(scalars, { maxLength: 6 })), mfa: scalars }, { requiredKeys: [] })),
      action: maybe(texts),
      resource: maybe(texts),
      decision: maybe(fc.constantFrom('Allow', 'Deny', 'ExplicitDeny', 'ImplicitDeny', 'allow')),
      statements: maybe(fc.array(maybe(fc.record({ policy: maybe(texts), sid: maybe(texts) }, { requiredKeys: [] })), { maxLength: 8 })),
      cache: maybe(fc.constantFrom('l1', 'l2', 'miss', 'off', 'L1')),
      policyGeneration: scalars,
      shadow: maybe(fc.constantFrom('would_allow', 'would_deny', 'would')),
      sourceIp: maybe(texts),
      method: maybe(texts),
      path: maybe(fc.oneof(texts, fc.constantFrom('/a?token=x', '/a#frag?x', '/a?b#c', `/p/${TOKEN}`))),
      status: scalars,
      upstream: maybe(fc.record({ status: scalars, latencyMs: scalars, error: maybe(texts) }, { requiredKeys: [] })),
      traceId: maybe(texts),
    },
    { requiredKeys: ['kind'] },
  )
  .map((e) => e as unknown as AuditEventInput);

describe('the audit record encoder', () => {
  it('writes any event exactly as the reference builder lays it out, in canonical form', () => {
    fc.assert(
      fc.property(fc.array(events, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 0, max: 4e12 }), { minLength: 1, maxLength: 4 }), (batch, times) => {
        for (const [reference, fast] of bothWays(batch, times)) {
          expect(fast).toBe(reference);
          const { hash, ...rest } = JSON.parse(fast) as AuditRecord;
          expect(fast.slice(0, fast.lastIndexOf(',"hash":')) + '}').toBe(canonicalJson(rest as unknown as CanonicalValue));
          expect(recordHash(rest)).toBe(hash);
        }
      }),
      { numRuns: 250 },
    );
  });

  it('writes the gateway decision and outcome events as the reference does, shadow verdicts included', () => {
    const batch = [
      decisionEvent(1),
      decisionEvent(2, { shadow: 'would_deny', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' }),
      decisionEvent(3, { principal: { arn: 'arn:aws:sts::1:assumed-role/R/s', type: 'assumed-role', session: 's', sourceIdentity: 'alice' }, authn: { mfa: true } }),
      { kind: 'outcome' as const, reason: 'completed', requestId: 'r', status: 200, upstream: { status: 200, latencyMs: 3 } },
    ];
    for (const [reference, fast] of bothWays(batch)) expect(fast).toBe(reference);
    expect(JSON.parse(bothWays([decisionEvent(2, { shadow: 'would_deny' })])[0]![1])).toMatchObject({ shadow: 'would_deny', decision: 'Allow' });
  });

  it('redacts a bearer token in a repeated value every time it is written, not only the first', () => {
    const lines = bothWays([1, 2, 3].map(() => decisionEvent(1, { action: TOKEN, reason: TOKEN })));
    for (const [, fast] of lines) {
      expect(fast).not.toContain('eyJ');
      expect(JSON.parse(fast)).toMatchObject({ action: REDACTED, reason: REDACTED });
    }
  });

  it('redacts a bearer token that a field’s cut would end before its second dot: no part of its header or payload is recorded', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'alice', note: 'p'.repeat(400) })).toString('base64url');
    const token = `eyJhbGciOiJFZERTQSJ9.${payload}.c2lnbmF0dXJl`;
    // Each value is cut inside the token's payload, before its second dot.
    const event = decisionEvent(1, { reason: `x${token}`, resource: `arn:aws:s3:::b/${token}`, principal: { arn: `arn:aws:iam::1:user/${token}`, type: 'user', session: token } });
    for (const [reference, fast] of bothWays([event])) {
      expect(fast).toBe(reference);
      expect(fast).not.toContain('eyJhbGciOiJFZERTQSJ9');
      expect(fast).not.toContain(payload.slice(0, 16));
      expect(JSON.parse(fast)).toMatchObject({ reason: REDACTED, resource: REDACTED, principal: { arn: REDACTED, session: REDACTED } });
    }
  });

  it('keeps writing correctly once a field has seen more distinct values than it keeps', () => {
    const batch = Array.from({ length: FRAGMENTS_PER_FIELD + 50 }, (_, i) => decisionEvent(i, { action: `svc:Action${i % (FRAGMENTS_PER_FIELD + 10)}` }));
    const lines = bothWays(batch);
    expect(lines.filter(([reference, fast]) => reference !== fast)).toEqual([]);
    expect(JSON.parse(lines.at(-1)![1])).toMatchObject({ action: `svc:Action${(FRAGMENTS_PER_FIELD + 49) % (FRAGMENTS_PER_FIELD + 10)}` });
  });

  it('writes frozen principal, authn and statements members as the reference does, record after record', () => {
    const principal = Object.freeze({ arn: 'arn:aws:sts::1:assumed-role/R/s', type: 'assumed-role', session: 's' });
    const authn = Object.freeze({ issuer: 'https://idp', methods: Object.freeze(['pwd', 'otp']), mfa: true });
    const statements = Object.freeze([Object.freeze({ policy: 'P', sid: 'A' }), Object.freeze({ policy: 'Q' })]);
    const lines = bothWays([1, 2, 3].map((i) => decisionEvent(i, { principal, authn, statements })));
    for (const [reference, fast] of lines) expect(fast).toBe(reference);
    expect(JSON.parse(lines[2]![1])).toMatchObject({ principal, authn: { methods: ['pwd', 'otp'] }, statements: [{ policy: 'P', sid: 'A' }, { policy: 'Q' }] });
  });

  it('writes a member again when something inside it can still change, though the member itself is frozen', () => {
    const item = { policy: 'P', sid: 'A' };
    const statements = Object.freeze([item]);
    const methods = ['pwd'];
    const authn = Object.freeze({ issuer: 'https://idp', methods, mfa: false });
    const [deps] = twinDeps([0]);
    const chain = createChain('gw-m');
    const encode = createEventEncoder(chain.instanceId, deps);
    const first = JSON.parse(chain.sealText(encode, decisionEvent(1, { statements, authn })).line);
    item.sid = 'B';
    methods.push('otp');
    const second = JSON.parse(chain.sealText(encode, decisionEvent(2, { statements, authn })).line);
    expect(first).toMatchObject({ statements: [{ sid: 'A' }], authn: { methods: ['pwd'] } });
    expect(second).toMatchObject({ statements: [{ sid: 'B' }], authn: { methods: ['pwd', 'otp'] } });
  });

  it('refuses an unknown kind without taking a place in the chain', () => {
    const [deps] = twinDeps([0]);
    const chain = createChain('gw-k');
    const encode = createEventEncoder(chain.instanceId, deps);
    expect(() => chain.sealText(encode, { kind: 'nonsense', reason: 'x' } as unknown as AuditEventInput)).toThrow(TypeError);
    expect(chain.lastSeq).toBe(0);
    expect(JSON.parse(chain.sealText(encode, decisionEvent(1)).line)).toMatchObject({ seq: 1, prev: '0'.repeat(64) });
  });
});
