// Token attacks over HTTP against the real authenticator (JWKS over HTTP, verified-token cache,
// revocation): odd `alg` spellings, `crit`, keys and key URLs embedded in the header, hostile
// `kid`s, nested tokens, near-miss issuers and audiences, cached tokens outliving `exp`, revoked
// sessions, and the shapes an Authorization header can take. Each refusal is checked for its
// exact reason code and for the upstream never seeing the request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/net.js';
import { IDP_KID, makeSigningKey, signCompact, startCountingServer, startIdp, unsigned, type Idp, type SigningKey } from './support/idp.js';
import { exchange, jsonOf, responsesComplete, responsesOf } from './support/raw.js';
import { startStsGateway } from './support/sts-gateway.js';
import { useStarted } from '../support/suite.js';
import { startRealGateway, type RealGateway } from './support/real-gateway.js';

/** A clock the test moves by hand, shared by the gateway, the authenticator and the signer. */
function manualClock(): { now: () => number; advance(ms: number): void } {
  let t = Date.now();
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('bearer token attacks', () => {
  const clock = manualClock();
  let idp: Idp;
  let attacker: SigningKey;
  let keyUrl: Awaited<ReturnType<typeof startCountingServer>>;
  let gw: RealGateway;

  beforeAll(async () => {
    idp = await startIdp();
    attacker = await makeSigningKey();
    keyUrl = await startCountingServer();
    gw = await startRealGateway({
      issuers: [idp.issuerConfig({ jwks: { cooldownSeconds: 30, refreshSeconds: 600, timeoutMs: 1000 }, clockToleranceSeconds: 0 })],
      now: clock.now,
    });
    // Load the keys once, so every later fetch is one an attack caused.
    expect((await call(`Bearer ${await idp.token(idp.claims('alice', clock.now()))}`)).status).toBe(200);
    expect(idp.fetches()).toBe(1);
  });

  afterAll(async () => {
    await gw?.close();
    await idp?.close();
    await keyUrl?.close();
  });

  /** GET /public/readme with this Authorization value; the answer and whether the upstream saw it. */
  async function call(authorization: string | undefined, path = '/public/readme'): Promise<{ status: number; body: Record<string, unknown>; forwarded: number }> {
    const before = gw.upstream.arrivals();
    const res = await rawRequest(`${gw.url}${path}`, { headers: authorization === undefined ? {} : { authorization } });
    return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown>, forwarded: gw.upstream.arrivals() - before };
  }

  async function expectRefused(token: string, code: string): Promise<void> {
    const r = await call(`Bearer ${token}`);
    expect([r.status, r.body['code']]).toEqual([401, code]);
    expect(r.forwarded).toBe(0);
  }

  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => idp.claims('alice', clock.now(), extra);

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s, with or without a signature', async (alg) => {
    await expectRefused(unsigned({ alg, typ: 'JWT' }, claims()), 'token_algorithm_not_allowed');
    await expectRefused(unsigned({ alg, kid: IDP_KID }, claims(), 'c2lnbmF0dXJl'), 'token_algorithm_not_allowed');
  });

  it.each(['es256', 'Es256', 'ES256 ', 'HS256', 'RS256', 'EdDSA'])('refuses alg %j even with a valid ES256 signature', async (alg) => {
    await expectRefused(await signCompact(idp.key, { alg, kid: IDP_KID }, claims()), 'token_algorithm_not_allowed');
  });

  it('refuses a header without alg, or with alg that is not a string', async () => {
    await expectRefused(await signCompact(idp.key, { kid: IDP_KID }, claims()), 'token_malformed');
    await expectRefused(await signCompact(idp.key, { alg: ['ES256'], kid: IDP_KID }, claims()), 'token_malformed');
    await expectRefused(await signCompact(idp.key, { alg: 'ES256', kid: 7 }, claims()), 'token_malformed');
  });

  it.each([
    ['an unknown critical extension', { crit: ['x-iamgate-bypass'], 'x-iamgate-bypass': true }],
    ['a critical extension missing from the header', { crit: ['x-missing'] }],
    ['an empty crit list', { crit: [] }],
    ['an unencoded payload (b64: false)', { crit: ['b64'], b64: false }],
    ['a crit naming a parameter JWS itself defines (alg), which RFC 7515 §4.1.11 forbids', { crit: ['alg'] }],
    ['a crit naming a claim (exp) as though it were a header parameter', { crit: ['exp'], exp: 1 }],
    ['a crit that is a string, not a list', { crit: 'x-iamgate-bypass', 'x-iamgate-bypass': true }],
  ])('refuses %s, though the IdP really signed it', async (_name, extra) => {
    await expectRefused(await signCompact(idp.key, { alg: 'ES256', kid: IDP_KID, ...extra }, claims()), 'token_malformed');
  });

  // RFC 8725 §3.11: a JWT of another kind the same provider signs (an OpenID back-channel logout
  // token, a security event token, ...) names its kind in typ, so that it is not taken for an access token.
  it.each([
    ['an OpenID back-channel logout token', 'logout+jwt'],
    ['a security event token', 'secevent+jwt'],
    ['one typed as its media type', 'application/logout+jwt'],
    ['a DPoP proof', 'dpop+jwt'],
    ['an encrypted token', 'JWE'],
    ['an empty type', ''],
    ['a type that is not text', ['JWT']],
  ])('refuses %s, though the IdP really signed it, for its typ', async (_name, typ) => {
    await expectRefused(await signCompact(idp.key, { alg: 'ES256', kid: IDP_KID, typ }, claims()), 'token_type_invalid');
  });

  it.each(['JWT', 'jwt', 'application/jwt', 'JOSE', 'at+jwt', 'application/at+JWT', undefined])('accepts a token of typ %j, the spellings of a JWT and an access token', async (typ) => {
    const r = await call(`Bearer ${await signCompact(idp.key, { alg: 'ES256', kid: IDP_KID, typ }, claims())}`);
    expect([r.status, r.forwarded]).toEqual([200, 1]);
  });

  it('ignores a key embedded in the header (jwk) and a key URL (jku, x5u), fetching nothing', async () => {
    const attackerJwk = attacker.publicJwk;
    const jwk = { ...attackerJwk, kid: 'attacker' };
    const headers = [
      { jwk: { ...attackerJwk, kid: IDP_KID }, kid: IDP_KID },
      { jwk: { ...attackerJwk } },
      { jku: `${keyUrl.url}/jwks.json`, kid: IDP_KID },
      { x5u: `${keyUrl.url}/cert.pem`, kid: IDP_KID },
      { x5c: ['MIIBszCCAVmgAwIBAgIUQ'], kid: IDP_KID },
    ];
    for (const extra of headers) await expectRefused(await signCompact(attacker, { alg: 'ES256', ...extra }, claims()), 'token_signature_invalid');
    for (const extra of [{ jwk, kid: 'attacker' }, { jku: `${keyUrl.url}/jwks.json`, kid: 'attacker' }]) {
      await expectRefused(await signCompact(attacker, { alg: 'ES256', ...extra }, claims()), 'token_key_unknown');
    }
    expect(keyUrl.hits()).toBe(0);
  });

  const hostileKids: readonly string[] = [
    '../../../../etc/passwd',
    `${IDP_KID}/../${IDP_KID}`,
    `${IDP_KID}\u0000`,
    `${IDP_KID} `,
    IDP_KID.toUpperCase(),
    "' OR '1'='1",
    '"; DROP TABLE keys; --',
    '__proto__',
    'constructor',
    '*',
    '',
    'k'.repeat(5000),
  ];

  it.each(hostileKids.map((kid) => [kid.length > 40 ? `of ${kid.length} characters` : JSON.stringify(kid), kid]))(
    'answers token_key_unknown for kid %s signed by another key, without refetching the JWKS',
    async (_label, kid) => {
      const fetches = idp.fetches();
      await expectRefused(await signCompact(attacker, { alg: 'ES256', kid }, claims()), 'token_key_unknown');
      expect(idp.fetches()).toBe(fetches);
    },
  );

  it('answers token_too_large for a kid that pushes the token over the limit', async () => {
    await expectRefused(await signCompact(idp.key, { alg: 'ES256', kid: 'k'.repeat(9000) }, claims()), 'token_too_large');
  });

  it('refuses a nested token (a signed JWT as the payload of another)', async () => {
    const inner = await idp.token(claims());
    await expectRefused(await signCompact(idp.key, { alg: 'ES256', kid: IDP_KID, cty: 'JWT' }, inner), 'token_malformed');
  });

  it.each([
    ['a prefix of the issuer', 'https://idp.adversarial.tes'],
    ['the issuer with a suffix', 'https://idp.adversarial.test.evil.example'],
    ['the issuer with a trailing slash', 'https://idp.adversarial.test/'],
    ['the issuer with a path', 'https://idp.adversarial.test/other'],
    ['the issuer in upper case', 'HTTPS://IDP.ADVERSARIAL.TEST'],
    ['the issuer over http', 'http://idp.adversarial.test'],
  ])('answers token_issuer_unknown for %s', async (_name, iss) => {
    await expectRefused(await idp.token(claims({ iss })), 'token_issuer_unknown');
  });

  it('answers token_claim_missing for a token without iss', async () => {
    const { iss: _dropped, ...rest } = claims();
    await expectRefused(await idp.token(rest), 'token_claim_missing');
  });

  it.each([
    ['another audience', 'orders-api'],
    ['a list without iamgate', ['orders-api', 'iamgate-staging']],
    ['iamgate in another case', 'IAMGATE'],
  ])('answers token_audience_invalid for %s', async (_name, aud) => {
    await expectRefused(await idp.token(claims({ aud })), 'token_audience_invalid');
  });

  it.each(['mallory', 'Alice', 'alice ', ' alice', '__proto__', 'constructor', 'arn:aws:iam::111122223333:user/alice', '*'])(
    'answers principal_unknown for sub %j, a user the directory does not hold',
    async (sub) => {
      await expectRefused(await idp.token(idp.claims(sub, clock.now())), 'principal_unknown');
    },
  );

  it('answers token_claim_invalid for a sub naming alice with a NUL after it, before any directory lookup', async () => {
    await expectRefused(await idp.token(idp.claims('alice\u0000', clock.now())), 'token_claim_invalid');
  });

  it('answers token_claim_invalid or token_claim_missing for claims of the wrong type', async () => {
    await expectRefused(await idp.token(claims({ exp: String(Math.floor(clock.now() / 1000) + 60) })), 'token_claim_invalid');
    await expectRefused(await idp.token(claims({ sub: ['alice'] })), 'token_claim_missing');
    const { exp: _e, ...noExp } = claims();
    await expectRefused(await idp.token(noExp), 'token_claim_missing');
  });

  it('stops honouring a cached token the moment it expires', async () => {
    const token = await idp.token(idp.claims('alice', clock.now(), {}, 60));
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    clock.advance(59_000);
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    clock.advance(1_000);
    await expectRefused(token, 'token_expired');
    clock.advance(3_600_000);
    await expectRefused(token, 'token_expired');
  });

  // No maxTokenAgeSeconds is configured here: a token is honoured for a day after its iat at
  // most, whatever its exp, so a leaked long-lived token stops working.
  it('refuses a token issued more than a day ago, however far off its exp', async () => {
    const iat = Math.floor(clock.now() / 1000) - 86_401;
    await expectRefused(await idp.token(claims({ iat, exp: iat + 10 * 365 * 86_400 })), 'token_too_old');
  });

  it('stops honouring a cached token with a far-off exp a day after its iat', async () => {
    const token = await idp.token(idp.claims('alice', clock.now(), {}, 365 * 86_400));
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    clock.advance(86_399_000);
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    // iat is in whole seconds: two more seconds pass the day whatever fraction the clock held.
    clock.advance(2_000);
    await expectRefused(token, 'token_too_old');
  });

  it('refuses a token issued in the future', async () => {
    const iat = Math.floor(clock.now() / 1000) + 3600;
    await expectRefused(await idp.token(claims({ iat, exp: iat + 300 })), 'token_not_yet_valid');
  });

  it('refuses a token without iat', async () => {
    const { iat: _i, ...noIat } = claims();
    await expectRefused(await idp.token(noIat), 'token_claim_missing');
  });

  it('honours nbf even for a token presented again later', async () => {
    const nbf = Math.floor(clock.now() / 1000) + 120;
    const token = await idp.token(claims({ nbf, exp: nbf + 300 }));
    await expectRefused(token, 'token_not_yet_valid');
    await expectRefused(token, 'token_not_yet_valid');
    clock.advance(121_000);
    expect((await call(`Bearer ${token}`)).status).toBe(200);
  });

  it('refuses a revoked session, cached or not, and accepts sessions issued after the revocation', async () => {
    const cached = await idp.token(claims());
    expect((await call(`Bearer ${cached}`)).status).toBe(200);
    const fresh = await idp.token(claims({ jti: 'second' }));
    clock.advance(1_000);
    await gw.runtime.revocations.revoke('arn:aws:iam::111122223333:user/alice', clock.now());
    await expectRefused(cached, 'session_revoked');
    await expectRefused(fresh, 'session_revoked');
    clock.advance(1_000);
    expect((await call(`Bearer ${await idp.token(claims({ jti: 'after' }))}`)).status).toBe(200);
  });

  it('answers each rejected token with a bearer challenge naming invalid_token or invalid_request', async () => {
    const res = await rawRequest(`${gw.url}/public/readme`, { headers: { authorization: `Bearer ${unsigned({ alg: 'none' }, claims())}` } });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="iamgate", error="invalid_token", error_description="[^"]*"$/);
    const malformed = await rawRequest(`${gw.url}/public/readme`, { headers: { authorization: 'Bearer not-a-jwt' } });
    expect(malformed.headers['www-authenticate']).toMatch(/^Bearer realm="iamgate", error="invalid_request"/);
  });

  it('keeps no token material in the audit trail, for accepted and refused tokens alike', async () => {
    const tokens = [
      await idp.token(claims({ jti: 'audit-ok' })),
      await idp.token(claims({ aud: 'elsewhere' })),
      await signCompact(attacker, { alg: 'ES256', kid: IDP_KID }, claims()),
      unsigned({ alg: 'none' }, claims({ jti: 'audit-none' })),
    ];
    for (const token of tokens) await call(`Bearer ${token}`);
    const trail = JSON.stringify(gw.audit.events);
    for (const token of tokens) {
      const [header, payload, signature] = token.split('.');
      expect(trail).not.toContain(payload!);
      expect(trail).not.toContain(header!);
      if (signature) expect(trail).not.toContain(signature);
    }
  });

  describe('the Authorization header', () => {
    let token: string;
    beforeAll(async () => {
      token = await idp.token(claims());
    });

    it.each([
      ['the scheme in lower case', (t: string) => `bearer ${t}`],
      ['the scheme in upper case', (t: string) => `BEARER ${t}`],
      ['two spaces after the scheme', (t: string) => `Bearer  ${t}`],
      ['trailing spaces', (t: string) => `Bearer ${t}   `],
    ])('accepts %s', async (_name, form) => {
      const r = await call(form(token));
      expect(r.status).toBe(200);
      expect(r.forwarded).toBe(1);
    });

    it.each([
      ['a tab after the scheme', (t: string) => `Bearer\t${t}`],
      ['no space after the scheme', (t: string) => `Bearer${t}`],
      ['a comma-separated list of two credentials', (t: string) => `Bearer ${t}, Bearer ${t}`],
      ['two tokens joined by a comma', (t: string) => `Bearer ${t},${t}`],
      ['the token quoted', (t: string) => `Bearer "${t}"`],
      ['another scheme', (t: string) => `Basic ${t}`],
      ['a scheme prefix', (t: string) => `Bearerx ${t}`],
      ['the scheme alone', () => 'Bearer'],
      ['base64 padding on the token', (t: string) => `Bearer ${t}==`],
      ['a token with empty parts', () => 'Bearer ..'],
      ['a token of four parts', (t: string) => `Bearer ${t}.x`],
      ['an encrypted token (JWE, five parts)', () => `Bearer ${Buffer.from('{"alg":"dir","enc":"A256GCM"}').toString('base64url')}..aXY.Y2lwaGVy.dGFn`],
    ])('refuses %s as token_malformed', async (_name, form) => {
      const r = await call(form(token));
      expect([r.status, r.body['code']]).toEqual([401, 'token_malformed']);
      expect(r.forwarded).toBe(0);
    });

    it('answers token_missing, with a challenge without error, for an empty header', async () => {
      const r = await rawRequest(`${gw.url}/public/readme`, { headers: { authorization: '' } });
      expect([r.status, JSON.parse(r.body).code]).toEqual([401, 'token_missing']);
      expect(r.headers['www-authenticate']).toBe('Bearer realm="iamgate"');
    });

    it('refuses two Authorization headers in different cases as token_malformed', async () => {
      const before = gw.upstream.arrivals();
      const r = await exchange(gw.port, `GET /public/readme HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${token}\r\nAUTHORIZATION: Bearer ${token}\r\nConnection: close\r\n\r\n`);
      expect(r.statuses).toEqual([401]);
      expect(jsonOf(r.text)).toMatchObject({ code: 'token_malformed' });
      expect(gw.upstream.arrivals()).toBe(before);
    });

    it('never forwards the caller’s credentials upstream', async () => {
      const before = gw.upstream.received.length;
      const r = await exchange(gw.port, `GET /public/readme HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nProxy-Authorization: Basic eDp5\r\nConnection: authorization\r\n\r\n`, {
        until: responsesComplete(1),
      });
      expect(r.statuses).toEqual([200]);
      const seen = gw.upstream.received.slice(before)[0]!;
      expect(seen.headers['authorization']).toBeUndefined();
      expect(seen.headers['proxy-authorization']).toBeUndefined();
    });
  });
});

// Which of two Authorization lines counts differs from one reader to the next (Node keeps the
// first, a Headers object joins them, another proxy keeps the last): neither does, and the data
// path and the STS endpoints, which read headers through different code, say so alike.
describe('two Authorization headers', () => {
  const sts = useStarted('the STS gateway', () => startStsGateway('account: "111122223333"\nusers:\n  alice: {}\n'), (started) => started.close());

  it.each([
    ['the data path', 'GET /public/readme'],
    ['the STS endpoints', 'POST /.iamgate/sts/GetSessionToken'],
  ])('are one malformed credential on %s: 401 token_malformed, challenged invalid_request, with one record', async (_where, line) => {
    const bearer = `Bearer ${await sts.idp.token(sts.idp.claims('alice', Date.now()))}`;
    const before = sts.gw.upstream.arrivals();
    const r = await exchange(sts.gw.port, `${line} HTTP/1.1\r\nHost: x\r\nAuthorization: ${bearer}\r\nauthorization: ${bearer}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    expect(r.statuses).toEqual([401]);
    const body = jsonOf(r.text);
    expect(body['code']).toBe('token_malformed');
    expect(responsesOf(r.text)[0]!.head).toMatch(/\r\nwww-authenticate: Bearer [^\r]*error="invalid_request"/i);
    expect(sts.gw.audit.decisionsFor(String(body['requestId']))).toEqual([expect.objectContaining({ reason: 'token_malformed' })]);
    expect(sts.gw.upstream.arrivals()).toBe(before);
  });
});
