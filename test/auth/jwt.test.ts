// Bearer JWT verification against a real JWKS server: every way a token can be wrong is a 401 with
// a stable code (503 only when keys are unavailable), never an exception; rotation without restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JWK, JWTPayload } from 'jose';
import { createAuthenticator, type AuthOutcome, type TokenAuthenticator } from '../../src/auth/index.js';
import type { PrincipalResolver } from '../../src/identity/index.js';
import {
  authConfig,
  exampleResolver,
  hmacWithPublicKey,
  makeKey,
  sign,
  startJwksServer,
  tamper,
  testClock,
  unsignedToken,
  type JwksServer,
  type TestKey,
} from './helpers.js';

const ISS = 'https://idp.example.test';

function expectFailure(outcome: AuthOutcome, code: string, status = 401): void {
  expect(outcome.ok).toBe(false);
  if (outcome.ok) return;
  expect({ code: outcome.code, status: outcome.status }).toEqual({ code, status });
}

describe('bearer JWT verification', () => {
  let k1: TestKey;
  let k2: TestKey;
  let stranger: TestKey;
  let jwks: JwksServer;
  let resolver: PrincipalResolver;

  beforeAll(async () => {
    [k1, k2, stranger] = await Promise.all([makeKey('k1'), makeKey('k2'), makeKey('k1')]);
    jwks = await startJwksServer([k1.publicJwk]);
    resolver = await exampleResolver();
  });
  afterAll(async () => {
    await jwks.close();
  });

  function setup(extra: Record<string, unknown> = {}): { auth: TokenAuthenticator; clock: ReturnType<typeof testClock> } {
    const clock = testClock(Date.now());
    const config = authConfig({
      maxTokenBytes: 4096,
      issuers: [
        {
          name: 'idp',
          issuer: ISS,
          audiences: ['iamgate'],
          algorithms: ['ES256'],
          jwksUrl: jwks.url,
          jwks: { cooldownSeconds: 30, refreshSeconds: 600, timeoutMs: 300 },
          clockToleranceSeconds: 5,
          maxTokenAgeSeconds: 3600,
          claims: { user: 'sub', groups: 'groups', tags: { team: 'team' }, amrMfa: true },
          ...extra,
        },
      ],
    });
    return { auth: createAuthenticator(config, { resolver: () => resolver, now: clock.now }), clock };
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('accepts a valid token and resolves the directory user with context keys', async () => {
    const { auth, clock } = setup();
    const token = await sign(k1, { sub: 'alice', team: 'payments', amr: ['pwd', 'mfa'] }, { iss: ISS, now: clock.now() });
    const outcome = await auth.authenticate(bearer(token));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const p = outcome.principal;
    expect(p.arn).toBe('arn:aws:iam::111122223333:user/engineering/alice');
    expect(p.type).toBe('User');
    expect(p.mfa).toBe(true);
    expect(p.context['aws:username']).toBe('alice');
    expect(p.context['aws:PrincipalTag/team']).toBe('payments');
    expect(p.context['aws:MultiFactorAuthPresent']).toBe(true);
    expect(p.context['aws:MultiFactorAuthAge']).toBe(0);
    expect(p.issuer).toBe(ISS);
  });

  it('counts the MFA age from auth_time, and refuses an MFA token whose auth_time is later than its iat beyond the clock tolerance or not a number', async () => {
    const { auth, clock } = setup();
    const now = Math.floor(clock.now() / 1000);
    const mfaToken = (authTime: unknown) => sign(k1, { sub: 'alice', amr: ['mfa'], auth_time: authTime } as JWTPayload, { iss: ISS, now: clock.now() });
    const older = await auth.authenticate(bearer(await mfaToken(now - 120)));
    expect(older.ok && older.principal.context['aws:MultiFactorAuthAge']).toBe(120);
    // Authenticated after the token was issued cannot be: read as written, it kept the MFA age at 0
    // for as long as the token lived, and a policy's NumericLessThan on the age held throughout.
    for (const authTime of [now + 600, now + 6, String(now - 120), null]) {
      expectFailure(await auth.authenticate(bearer(await mfaToken(authTime))), 'token_claim_invalid');
    }
    // Within the issuer's clock tolerance (5 s here) of iat, as a provider's servers whose clocks
    // differ write it: taken as iat, so the age counts from the older time.
    const skewedToken = await mfaToken(now + 5);
    clock.advance(30_000);
    const skewed = await auth.authenticate(bearer(skewedToken));
    expect(skewed.ok && skewed.principal.context['aws:MultiFactorAuthAge']).toBe(30);
  });

  it('answers token_missing when there is no Authorization header', async () => {
    const { auth } = setup();
    expectFailure(await auth.authenticate({}), 'token_missing');
    expectFailure(await auth.authenticate({ authorization: '  ' }), 'token_missing');
  });

  it('answers token_malformed for other schemes and for text that is not a JWT', async () => {
    const { auth } = setup();
    expectFailure(await auth.authenticate({ authorization: 'Basic YWxpY2U6cHc=' }), 'token_malformed');
    expectFailure(await auth.authenticate(bearer('not-a-jwt')), 'token_malformed');
    expectFailure(await auth.authenticate(bearer('a.b.c')), 'token_malformed');
    expectFailure(await auth.authenticate(bearer(`${Buffer.from('{"alg":').toString('base64url')}.e30.sig`)), 'token_malformed');
  });

  it('refuses alg none', async () => {
    const { auth, clock } = setup();
    const t = Math.floor(clock.now() / 1000);
    const token = unsignedToken({ iss: ISS, aud: 'iamgate', sub: 'alice', iat: t, exp: t + 600 });
    expectFailure(await auth.authenticate(bearer(token)), 'token_algorithm_not_allowed');
  });

  it('refuses HS256 signed with the issuer public key (algorithm confusion)', async () => {
    const { auth, clock } = setup();
    const t = Math.floor(clock.now() / 1000);
    const token = await hmacWithPublicKey(k1, { iss: ISS, aud: 'iamgate', sub: 'alice', iat: t, exp: t + 600 });
    expectFailure(await auth.authenticate(bearer(token)), 'token_algorithm_not_allowed');
  });

  it('refuses an allowed algorithm the issuer is not configured for', async () => {
    const { auth, clock } = setup();
    const rsa = await makeKey('k1', 'RS256');
    expectFailure(await auth.authenticate(bearer(await sign(rsa, { sub: 'alice' }, { iss: ISS, now: clock.now() }))), 'token_algorithm_not_allowed');
  });

  it('answers token_key_unknown for a kid the issuer does not publish', async () => {
    const { auth, clock } = setup();
    const other = await makeKey('nobody-knows-me');
    expectFailure(await auth.authenticate(bearer(await sign(other, { sub: 'alice' }, { iss: ISS, now: clock.now() }))), 'token_key_unknown');
  });

  it('answers token_signature_invalid for a token signed by another key under a known kid', async () => {
    const { auth, clock } = setup();
    const token = await sign(stranger, { sub: 'alice' }, { iss: ISS, now: clock.now() });
    expectFailure(await auth.authenticate(bearer(token)), 'token_signature_invalid');
  });

  it('answers token_signature_invalid for a tampered payload', async () => {
    const { auth, clock } = setup();
    const token = await sign(k1, { sub: 'bob' }, { iss: ISS, now: clock.now() });
    expect((await auth.authenticate(bearer(token))).ok).toBe(true);
    const forged = tamper(token, (p) => void (p['sub'] = 'carol'));
    expectFailure(await auth.authenticate(bearer(forged)), 'token_signature_invalid');
  });

  it('answers token_expired once exp has passed (beyond the clock tolerance), also for a cached token', async () => {
    const { auth, clock } = setup();
    const expired = await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now(), iatOffset: -120, ttl: -10 });
    expectFailure(await auth.authenticate(bearer(expired)), 'token_expired');
    const token = await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now(), ttl: 60 });
    expect((await auth.authenticate(bearer(token))).ok).toBe(true);
    clock.advance(64_000);
    expect((await auth.authenticate(bearer(token))).ok).toBe(true);
    clock.advance(2_000);
    expectFailure(await auth.authenticate(bearer(token)), 'token_expired');
  });

  it('answers token_not_yet_valid for nbf in the future', async () => {
    const { auth, clock } = setup();
    const token = await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now(), nbfOffset: 300 });
    expectFailure(await auth.authenticate(bearer(token)), 'token_not_yet_valid');
  });

  it('answers token_issuer_unknown for an issuer that is not configured', async () => {
    const { auth, clock } = setup();
    const token = await sign(k1, { sub: 'alice' }, { iss: 'https://evil.example.test', now: clock.now() });
    expectFailure(await auth.authenticate(bearer(token)), 'token_issuer_unknown');
  });

  it('answers token_audience_invalid when the token is meant for someone else', async () => {
    const { auth, clock } = setup();
    const token = await sign(k1, { sub: 'alice' }, { iss: ISS, aud: 'billing', now: clock.now() });
    expectFailure(await auth.authenticate(bearer(token)), 'token_audience_invalid');
  });

  it('answers token_too_old when iat is older than the maximum token age, even if exp is far', async () => {
    const { auth, clock } = setup();
    const token = await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now(), iatOffset: -7200, ttl: 86_400 });
    expectFailure(await auth.authenticate(bearer(token)), 'token_too_old');
  });

  it('answers token_too_large for a token above the size limit', async () => {
    const { auth, clock } = setup();
    const token = await sign(k1, { sub: 'alice', padding: 'x'.repeat(5000) }, { iss: ISS, now: clock.now() });
    expectFailure(await auth.authenticate(bearer(token)), 'token_too_large');
  });

  it('answers token_claim_missing without the user claim and principal_unknown for a user not in the directory', async () => {
    const { auth, clock } = setup();
    expectFailure(await auth.authenticate(bearer(await sign(k1, {}, { iss: ISS, now: clock.now() }))), 'token_claim_missing');
    expectFailure(await auth.authenticate(bearer(await sign(k1, { sub: 'mallory' }, { iss: ISS, now: clock.now() }))), 'principal_unknown');
  });

  it('adds groups the identity provider asserts and ignores groups the directory does not have', async () => {
    const { auth, clock } = setup();
    const plain = await auth.authenticate(bearer(await sign(k1, { sub: 'bob' }, { iss: ISS, now: clock.now() })));
    const more = await auth.authenticate(bearer(await sign(k1, { sub: 'bob', groups: ['developers', 'root-admins'] }, { iss: ISS, now: clock.now() })));
    expect(plain.ok && more.ok).toBe(true);
    if (!plain.ok || !more.ok) return;
    expect(more.principal.fingerprint).not.toBe(plain.principal.fingerprint);
    expect(more.principal.policySet.identity.map((p) => p.name)).toEqual(['OrdersReadOnly', 'OrdersReadWrite']);
  });

  it('ignores amr mfa unless the issuer is configured to trust it', async () => {
    const { auth, clock } = setup({ claims: { user: 'sub', amrMfa: false } });
    const outcome = await auth.authenticate(bearer(await sign(k1, { sub: 'carol', amr: ['mfa'] }, { iss: ISS, now: clock.now() })));
    expect(outcome.ok && outcome.principal.mfa).toBe(false);
  });

  it('verifies a token signed with a new key after the identity provider rotates, without restart', async () => {
    const { auth, clock } = setup();
    expect((await auth.authenticate(bearer(await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now() })))).ok).toBe(true);
    jwks.setKeys([k1.publicJwk, k2.publicJwk]);
    try {
      clock.advance(31_000); // past the cooldown of the first fetch
      const fresh = await sign(k2, { sub: 'alice' }, { iss: ISS, now: clock.now() });
      expect((await auth.authenticate(bearer(fresh))).ok).toBe(true);
      // Both keys overlap: tokens of the old key keep working.
      expect((await auth.authenticate(bearer(await sign(k1, { sub: 'bob' }, { iss: ISS, now: clock.now() })))).ok).toBe(true);
    } finally {
      jwks.setKeys([k1.publicJwk]);
    }
  });

  it('stops honouring a key once the provider retires it, cached tokens included', async () => {
    const { auth, clock } = setup({ jwks: { cooldownSeconds: 30, refreshSeconds: 60, timeoutMs: 300 } });
    jwks.setKeys([k1.publicJwk, k2.publicJwk]);
    try {
      const old = await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now(), ttl: 3000 });
      expect((await auth.authenticate(bearer(old))).ok).toBe(true);
      jwks.setKeys([k2.publicJwk]);
      clock.advance(61_000);
      const before = jwks.requests();
      await auth.authenticate(bearer(old)); // triggers the background refresh
      await expect.poll(() => jwks.requests()).toBeGreaterThan(before);
      await expect.poll(async () => {
        const outcome = await auth.authenticate(bearer(old));
        return outcome.ok ? 'ok' : outcome.code;
      }).toBe('token_key_unknown');
    } finally {
      jwks.setKeys([k1.publicJwk]);
    }
  });

  it('stops honouring a cached token without kid once the provider replaces the key that verified it', async () => {
    const { auth, clock } = setup({ jwks: { cooldownSeconds: 30, refreshSeconds: 60, timeoutMs: 300 } });
    // One key at a time, so a token without kid names it; and a provider that writes no kids at all.
    const withoutKid = (k: TestKey): JWK => Object.fromEntries(Object.entries(k.publicJwk).filter(([name]) => name !== 'kid'));
    for (const [label, published] of [['keys with kids', (k: TestKey): JWK => k.publicJwk], ['keys without kids', withoutKid]] as const) {
      jwks.setKeys([published(k1)]);
      try {
        clock.advance(61_000);
        await auth.authenticate(bearer(await sign(k1, { sub: 'alice', n: label }, { iss: ISS, now: clock.now(), kid: null })));
        await expect.poll(async () => (await auth.authenticate(bearer(await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now(), kid: null })))).ok).toBe(true);
        const old = await sign(k1, { sub: 'alice', label }, { iss: ISS, now: clock.now(), ttl: 3000, kid: null });
        expect((await auth.authenticate(bearer(old))).ok, label).toBe(true);
        jwks.setKeys([published(k2)]);
        clock.advance(61_000);
        const before = jwks.requests();
        await auth.authenticate(bearer(old)); // triggers the background refresh
        await expect.poll(() => jwks.requests()).toBeGreaterThan(before);
        await expect.poll(async () => (await auth.authenticate(bearer(await sign(k2, { sub: 'alice' }, { iss: ISS, now: clock.now(), kid: null })))).ok).toBe(true);
        const outcome = await auth.authenticate(bearer(old));
        expect([label, outcome.ok ? 'ok' : outcome.code]).toEqual([label, 'token_signature_invalid']);
      } finally {
        jwks.setKeys([k1.publicJwk]);
      }
    }
  });

  it('refetches the JWKS at most once per cooldown however many unknown kids arrive', async () => {
    const { auth, clock } = setup();
    await auth.authenticate(bearer(await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now() })));
    const before = jwks.requests();
    for (let i = 0; i < 20; i++) {
      const bogus = await makeKey(`bogus-${i}`);
      expectFailure(await auth.authenticate(bearer(await sign(bogus, { sub: 'alice' }, { iss: ISS, now: clock.now() }))), 'token_key_unknown');
    }
    expect(jwks.requests() - before).toBeLessThanOrEqual(1);
  });

  it('keeps verifying with cached keys while the JWKS endpoint is down, and answers key_unavailable for an unknown kid', async () => {
    const { auth, clock } = setup({ jwks: { cooldownSeconds: 5, refreshSeconds: 10, timeoutMs: 300 } });
    expect((await auth.authenticate(bearer(await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now() })))).ok).toBe(true);
    for (const mode of ['error', 'hang'] as const) {
      jwks.setMode(mode);
      try {
        clock.advance(11_000);
        const unknown = await makeKey(`rotated-${mode}`);
        expectFailure(await auth.authenticate(bearer(await sign(unknown, { sub: 'alice' }, { iss: ISS, now: clock.now() }))), 'key_unavailable', 503);
        const requests = jwks.requests();
        for (let i = 0; i < 10; i++) {
          const known = await sign(k1, { sub: 'bob', n: i }, { iss: ISS, now: clock.now() });
          expect((await auth.authenticate(bearer(known))).ok).toBe(true);
        }
        // Within one cooldown the provider that is down is not asked again.
        expect(jwks.requests() - requests).toBeLessThanOrEqual(1);
        expect(auth.status()[0]?.lastError).toBeDefined();
      } finally {
        jwks.setMode('ok');
      }
    }
  });

  it('stops honouring keys, cached tokens included, once no fetch has succeeded for maxStaleSeconds, and trusts them again after one does', async () => {
    const { auth, clock } = setup({ jwks: { cooldownSeconds: 5, refreshSeconds: 10, timeoutMs: 300, maxStaleSeconds: 60 } });
    const token = await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now(), ttl: 3000 });
    const outcome = async (): Promise<string> => {
      const o = await auth.authenticate(bearer(token));
      return o.ok ? 'ok' : `${o.code} ${o.status}`;
    };
    expect(await outcome()).toBe('ok');
    jwks.setMode('error');
    try {
      // Within the bound the keys held keep verifying while the provider is down.
      clock.advance(50_000);
      expect(await outcome()).toBe('ok');
      // Past it, a key the provider may have retired meanwhile is no longer taken on trust.
      clock.advance(11_000);
      expect(await outcome()).toBe('key_unavailable 503');
      expect(auth.status()[0]?.lastError).toBeDefined();
    } finally {
      jwks.setMode('ok');
    }
    clock.advance(6_000);
    expect(await outcome()).toBe('ok');
  });

  it('answers key_unavailable, not a hang, when the JWKS was never reachable', async () => {
    const dead = await startJwksServer([k1.publicJwk]);
    dead.setMode('hang');
    const clock = testClock(Date.now());
    const config = authConfig({
      issuers: [{ issuer: ISS, audiences: ['iamgate'], algorithms: ['ES256'], jwksUrl: dead.url, jwks: { timeoutMs: 200 } }],
    });
    const auth = createAuthenticator(config, { resolver: () => resolver, now: clock.now });
    try {
      expectFailure(await auth.authenticate(bearer(await sign(k1, { sub: 'alice' }, { iss: ISS, now: clock.now() }))), 'key_unavailable', 503);
    } finally {
      await dead.close();
    }
  });

  it('rejects HMAC and none in the issuer configuration itself', async () => {
    const { readAuthConfig } = await import('../../src/auth/index.js');
    for (const alg of ['HS256', 'none']) {
      const { config, findings } = readAuthConfig({ issuers: [{ issuer: ISS, audiences: ['x'], algorithms: [alg], jwksUrl: jwks.url }] });
      expect(config).toBeUndefined();
      expect(findings.map((f) => [f.code, f.path])).toContainEqual(['CONFIG_ALGORITHM', 'auth.issuers[0].algorithms']);
    }
  });

  it('keeps a configuration refreshing keys once a day valid, trusting its keys for two refreshes when maxStaleSeconds is not given', async () => {
    const { readAuthConfig } = await import('../../src/auth/index.js');
    const daily = readAuthConfig({ issuers: [{ issuer: ISS, audiences: ['x'], jwksUrl: jwks.url, jwks: { refreshSeconds: 86_400 } }] });
    expect(daily.findings).toEqual([]);
    expect(daily.config?.issuers[0]?.jwks).toMatchObject({ refreshSeconds: 86_400, maxStaleSeconds: 172_800 });
    const usual = readAuthConfig({ issuers: [{ issuer: ISS, audiences: ['x'], jwksUrl: jwks.url }] });
    expect(usual.config?.issuers[0]?.jwks).toMatchObject({ refreshSeconds: 600, maxStaleSeconds: 86_400 });
    const given = readAuthConfig({ issuers: [{ issuer: ISS, audiences: ['x'], jwksUrl: jwks.url, jwks: { refreshSeconds: 3600, maxStaleSeconds: 3600 } }] });
    expect(given.findings.map((f) => [f.code, f.path])).toContainEqual(['INVALID_VALUE', 'auth.issuers[0].jwks.maxStaleSeconds']);
  });
});
