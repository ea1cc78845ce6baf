// The verified-token cache and directory reloads: a cached token is re-resolved (not re-verified)
// when the directory changes, loses its principal when the user disappears, and keeps its
// time-varying MFA age current; the cache can be turned off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type TokenAuthenticator } from '../../src/auth/index.js';
import { buildDirectory, createPrincipalResolver, readDirectoryDocument, type PrincipalResolver } from '../../src/identity/index.js';
import { authConfig, makeKey, sign, startJwksServer, testClock, type JwksServer, type TestKey } from './helpers.js';

const ISS = 'https://idp.cache.test';

function resolverOf(users: Record<string, unknown>): PrincipalResolver {
  const { model, findings } = readDirectoryDocument({
    account: '111122223333',
    groups: { readers: { inlinePolicies: { Read: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }] } } } },
    users,
  });
  if (!model) throw new Error(JSON.stringify(findings));
  return createPrincipalResolver(buildDirectory(model, new Map()));
}

describe('the verified-token cache', () => {
  let key: TestKey;
  let jwks: JwksServer;
  beforeAll(async () => {
    key = await makeKey('c1');
    jwks = await startJwksServer([key.publicJwk]);
  });
  afterAll(async () => {
    await jwks.close();
  });

  /** An authenticator over the test JWKS, reading the resolver through `current` on every request. */
  function authenticator(current: () => PrincipalResolver, extra: Record<string, unknown> = {}, now?: () => number): TokenAuthenticator {
    const config = authConfig({ ...extra, issuers: [{ name: 'idp', issuer: ISS, audiences: ['iamgate'], algorithms: ['ES256'], jwksUrl: jwks.url, claims: { user: 'sub', amrMfa: true } }] });
    return createAuthenticator(config, { resolver: current, ...(now ? { now } : {}) });
  }

  it('verifies a token once, re-resolves it after a directory reload, and drops a removed user', async () => {
    const clock = testClock(Date.now());
    let resolver = resolverOf({ alice: {} });
    const auth = authenticator(() => resolver, {}, clock.now);
    const header = { authorization: `Bearer ${await sign(key, { sub: 'alice', amr: ['mfa'] }, { iss: ISS, now: clock.now() })}` };
    const fetches = jwks.requests();

    const first = await auth.authenticate(header);
    if (!first.ok) throw new Error(first.code);
    expect(first.principal.policySet.identity).toHaveLength(0);
    expect(jwks.requests() - fetches).toBe(1);

    clock.advance(42_000);
    const cached = await auth.authenticate(header);
    expect(cached.ok && cached.principal.context['aws:MultiFactorAuthAge']).toBe(42);

    resolver = resolverOf({ alice: { groups: ['readers'] } });
    const reloaded = await auth.authenticate(header);
    if (!reloaded.ok) throw new Error(reloaded.code);
    expect(reloaded.principal.policySet.identity.map((p) => p.name)).toEqual(['group/readers/Read']);
    expect(reloaded.principal.fingerprint).not.toBe(first.principal.fingerprint);

    resolver = resolverOf({ bob: {} });
    expect(await auth.authenticate(header)).toMatchObject({ ok: false, code: 'principal_unknown' });
    expect(jwks.requests() - fetches).toBe(1);
  });

  it('refuses a token sent again and again once it expires, while another one sent between stays good', async () => {
    const clock = testClock(Date.now());
    const resolver = resolverOf({ alice: {}, bob: {} });
    // One entry: each token pushes the other out of the map, so the last one seen is all that is kept.
    const auth = authenticator(() => resolver, { tokenCacheEntries: 1 }, clock.now);
    const short = { authorization: `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: clock.now(), ttl: 60 })}` };
    const long = { authorization: `Bearer ${await sign(key, { sub: 'bob' }, { iss: ISS, now: clock.now(), ttl: 6000 })}` };
    for (const header of [short, short, long, short, long, long, short, short]) expect((await auth.authenticate(header)).ok).toBe(true);

    clock.advance(120_000); // past the short token's expiry and the default 30 s tolerance
    expect(await auth.authenticate(short)).toMatchObject({ ok: false, code: 'token_expired' });
    expect(await auth.authenticate(short)).toMatchObject({ ok: false, code: 'token_expired' });
    const still = await auth.authenticate(long);
    expect(still.ok && still.principal.arn).toBe('arn:aws:iam::111122223333:user/bob');
    expect(await auth.authenticate(short)).toMatchObject({ ok: false, code: 'token_expired' });
  });

  it('keeps the bytes of cached tokens within tokenCacheBytes, forgetting the oldest first, whatever their count allows', async () => {
    const clock = testClock(Date.now());
    const users = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`user${i}`, {}]));
    const resolver = resolverOf(users);
    const auth = authenticator(() => resolver, { maxTokenBytes: 16_384, tokenCacheBytes: 65_536 }, clock.now);
    // Large tokens, as a caller minting long session policies would send them.
    const headers = await Promise.all(
      Object.keys(users).map(async (sub) => ({ authorization: `Bearer ${await sign(key, { sub, pad: 'x'.repeat(6000) }, { iss: ISS, now: clock.now() })}` })),
    );
    for (const header of headers) expect((await auth.authenticate(header)).ok).toBe(true);
    const sizes = headers.map((h) => h.authorization.length);
    expect(Math.min(...sizes)).toBeGreaterThan(8000);
    // The newest that fit in the budget together are the ones kept.
    let kept = 0;
    let bytes = 0;
    for (let i = sizes.length - 1; i >= 0 && bytes + sizes[i]! <= 65_536; i--) {
      bytes += sizes[i]!;
      kept++;
    }
    expect(kept).toBeGreaterThan(1);
    expect(auth.cached()).toEqual({ entries: kept, bytes });
    // Sending those again verifies none anew, so nothing is added or forgotten.
    for (const header of headers.slice(-kept)) expect((await auth.authenticate(header)).ok).toBe(true);
    expect(auth.cached()).toEqual({ entries: kept, bytes });
  });

  it('works with the cache turned off', async () => {
    const clock = testClock(Date.now());
    const resolver = resolverOf({ alice: {} });
    const auth = authenticator(() => resolver, { tokenCacheEntries: 0 }, clock.now);
    const header = { authorization: `Bearer ${await sign(key, { sub: 'alice' }, { iss: ISS, now: clock.now() })}` };
    for (let i = 0; i < 3; i++) expect((await auth.authenticate(header)).ok).toBe(true);
    clock.advance(631_000); // past exp and the default 30 s tolerance
    expect(await auth.authenticate(header)).toMatchObject({ ok: false, code: 'token_expired' });
  });

  it('refuses at once, without waiting on anything, a token that is not a JWS, names no issuer or one not trusted, while a signed one still waits for its key', async () => {
    const resolver = resolverOf({ alice: {} });
    const auth = authenticator(() => resolver);
    const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const refused = [
      ['Bearer not-a-jws', 'token_malformed'],
      [`Bearer ${b64({ alg: 'ES256' })}.${b64({ sub: 'alice' })}.c2ln`, 'token_claim_missing'],
      [`Bearer ${b64({ alg: 'ES256' })}.${b64({ sub: 'alice', iss: 'https://idp.elsewhere.test' })}.c2ln`, 'token_issuer_unknown'],
    ] as const;
    for (const [authorization, code] of refused) {
      const outcome = auth.authenticate({ authorization });
      expect(outcome).not.toBeInstanceOf(Promise);
      expect(outcome).toMatchObject({ ok: false, code });
    }
    // The same shape from the trusted issuer needs its key: it waits, and its signature fails.
    const forged = auth.authenticate({ authorization: `Bearer ${b64({ alg: 'ES256' })}.${b64({ sub: 'alice', iss: ISS })}.c2ln` });
    expect(forged).toBeInstanceOf(Promise);
    expect(await forged).toMatchObject({ ok: false });
  });

  it('reports each issuer key status, loading keys on warm-up', async () => {
    const resolver = resolverOf({ alice: {} });
    const auth = authenticator(() => resolver);
    expect(auth.status()).toEqual([{ issuer: ISS, name: 'idp', ready: false, keys: 0 }]);
    expect(await auth.warmUp()).toEqual([{ issuer: ISS, name: 'idp', ready: true, keys: 1 }]);
  });
});
