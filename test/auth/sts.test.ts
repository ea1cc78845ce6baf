// The STS endpoints over the example directory, with real keys and real TOTP codes: MFA
// enrolment, GetSessionToken, carol assuming OrdersAdmin (MFA required by the trust policy),
// session policies, and the JWKS that lets others verify iamgate's tokens.
import { Hono } from 'hono';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { generate } from 'otplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/identity/index.js';
import { sessionToken, startAuthFixture, type AuthFixture } from './fixture.js';
import { decide as decideOn } from './helpers.js';

const ORDER = 'arn:aws:orders:us-east-1:111122223333:order/42';
const ORDERS_ADMIN = 'arn:aws:iam::111122223333:role/OrdersAdmin';

const decide = (p: Principal, action: string, resource = ORDER): string => decideOn(p, action, resource);

describe('STS endpoints', () => {
  let f: AuthFixture;
  beforeEach(async () => {
    f = await startAuthFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  const code = (secret: string): Promise<string> => generate({ secret, epoch: Math.floor(f.clock.now() / 1000) });

  async function principalOf(token: string): Promise<Principal> {
    const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${token}` });
    if (!outcome.ok) throw new Error(outcome.code);
    return outcome.principal;
  }

  /** Enrols carol's TOTP device and returns its secret. */
  async function enrolCarol(): Promise<string> {
    const carol = await f.tokenFor('carol');
    const started = await f.post('/mfa/enroll', {}, carol);
    expect(started.status).toBe(200);
    const secret = started.body['SecretBase32'] as string;
    expect(started.body['OtpauthUri']).toMatch(/^otpauth:\/\/totp\//);
    const confirmed = await f.post('/mfa/confirm', { TokenCode: await code(secret) }, carol);
    expect(confirmed).toMatchObject({ status: 200, body: { Enrolled: true } });
    f.clock.advance(30_000);
    return secret;
  }

  it('answers 401 with a bearer challenge when the caller has no token', async () => {
    const res = await f.post('/GetSessionToken', { TokenCode: '123456' });
    expect(res.status).toBe(401);
    expect(res.body['error']).toBe('token_missing');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('issues an MFA session with GetSessionToken and a valid code, and with it carol may delete orders', async () => {
    const secret = await enrolCarol();
    const carol = await f.tokenFor('carol');
    expect(decide(await principalOf(carol), 'orders:DeleteOrder')).toBe('ImplicitDeny');
    const res = await f.post('/GetSessionToken', { TokenCode: await code(secret), DurationSeconds: 900 }, carol);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const expiration = Date.parse((res.body['Credentials'] as { Expiration: string }).Expiration);
    expect(expiration).toBe(Math.floor(f.clock.now() / 1000) * 1000 + 900_000);
    const session = await principalOf(sessionToken(res.body));
    expect(session).toMatchObject({ arn: 'arn:aws:iam::111122223333:user/engineering/carol', type: 'User', mfa: true, issuer: 'iamgate' });
    expect(session.context['aws:MultiFactorAuthPresent']).toBe(true);
    expect(decide(session, 'orders:DeleteOrder')).toBe('Allow');
    f.clock.advance(120_000);
    expect((await principalOf(sessionToken(res.body))).context['aws:MultiFactorAuthAge']).toBe(120);
  });

  it('refuses GetSessionToken without a code, with a wrong code, and with a replayed code', async () => {
    const secret = await enrolCarol();
    const carol = await f.tokenFor('carol');
    expect(await f.post('/GetSessionToken', {}, carol)).toMatchObject({ status: 403, body: { error: 'mfa_required' } });
    const good = await code(secret);
    const wrong = String((Number(good) + 500_000) % 1_000_000).padStart(6, '0');
    expect(await f.post('/GetSessionToken', { TokenCode: wrong }, carol)).toMatchObject({ status: 403, body: { error: 'mfa_code_invalid' } });
    expect((await f.post('/GetSessionToken', { TokenCode: good }, carol)).status).toBe(200);
    expect(await f.post('/GetSessionToken', { TokenCode: good }, carol)).toMatchObject({ status: 403, body: { error: 'mfa_code_replayed' } });
  });

  it('locks carol out with 429 and Retry-After after repeated wrong codes', async () => {
    const secret = await enrolCarol();
    const carol = await f.tokenFor('carol');
    await f.post('/GetSessionToken', { TokenCode: '000000' }, carol);
    await f.post('/GetSessionToken', { TokenCode: '000001' }, carol);
    const locked = await f.post('/GetSessionToken', { TokenCode: '000002' }, carol);
    expect(locked).toMatchObject({ status: 429, body: { error: 'mfa_locked' } });
    expect(locked.headers.get('retry-after')).toBe('300');
    expect((await f.post('/GetSessionToken', { TokenCode: await code(secret) }, carol)).status).toBe(429);
    f.clock.advance(301_000);
    expect((await f.post('/GetSessionToken', { TokenCode: await code(secret) }, carol)).status).toBe(200);
  });

  it('denies carol OrdersAdmin without MFA and says a second factor is required', async () => {
    const res = await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName: 'carol-fix' }, await f.tokenFor('carol'));
    expect(res).toMatchObject({ status: 403, body: { error: 'mfa_required' } });
    expect(f.events.at(-1)).toMatchObject({ action: 'AssumeRole', outcome: 'denied', code: 'mfa_required' });
  });

  it('lets carol assume OrdersAdmin with a TOTP code; the session acts with the role policies, not hers', async () => {
    const secret = await enrolCarol();
    const res = await f.post(
      '/AssumeRole',
      { RoleArn: ORDERS_ADMIN, RoleSessionName: 'carol-fix', TokenCode: await code(secret) },
      await f.tokenFor('carol'),
    );
    expect(res.status).toBe(200);
    expect(res.body['AssumedRoleUser']).toMatchObject({ Arn: 'arn:aws:sts::111122223333:assumed-role/OrdersAdmin/carol-fix' });
    const session = await principalOf(sessionToken(res.body));
    expect(session).toMatchObject({ type: 'AssumedRole', name: 'OrdersAdmin', sessionName: 'carol-fix', roleArn: ORDERS_ADMIN, mfa: true });
    expect(session.context['aws:PrincipalArn']).toBe(ORDERS_ADMIN);
    expect(session.context['aws:userid']).toMatch(/^AROA[A-Z2-7]{17}:carol-fix$/);
    expect(decide(session, 'orders:DeleteOrder')).toBe('Allow');
    // carol may assume the role; the role's session may not.
    expect(decide(session, 'sts:AssumeRole', ORDERS_ADMIN)).toBe('ImplicitDeny');
    expect(f.events.at(-1)).toMatchObject({ action: 'AssumeRole', outcome: 'allowed', mfa: true });
  });

  it('lets an MFA session assume the role without another code, MFA carried over', async () => {
    const carolWithMfa = await f.tokenFor('carol', { mfa: true });
    const res = await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName: 'carol-2' }, carolWithMfa);
    expect(res.status).toBe(200);
    expect((await principalOf(sessionToken(res.body))).mfa).toBe(true);
  });

  it('lets a session policy test aws:RoleSessionName, which holds the name given to AssumeRole', async () => {
    const carolWithMfa = await f.tokenFor('carol', { mfa: true });
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*', Condition: { StringEquals: { 'aws:RoleSessionName': 'carol-2' } } }],
    });
    const named = async (RoleSessionName: string): Promise<Principal> => {
      const res = await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName, Policy }, carolWithMfa);
      expect(res.status).toBe(200);
      return principalOf(sessionToken(res.body));
    };
    const matching = await named('carol-2');
    expect(matching.context['aws:RoleSessionName']).toBe('carol-2');
    expect(decide(matching, 'orders:GetOrder')).toBe('Allow');
    expect(decide(await named('carol-3'), 'orders:GetOrder')).toBe('ImplicitDeny');
  });

  it('caps the duration at the role maximum', async () => {
    const res = await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName: 'long', DurationSeconds: 43_200 }, await f.tokenFor('carol', { mfa: true }));
    expect(res.status).toBe(200);
    const expiration = Date.parse((res.body['Credentials'] as { Expiration: string }).Expiration);
    expect(expiration - Math.floor(f.clock.now() / 1000) * 1000).toBe(3600_000);
    expect(await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName: 'short', DurationSeconds: 60 }, await f.tokenFor('carol', { mfa: true }))).toMatchObject({
      status: 400,
      body: { error: 'invalid_duration' },
    });
  });

  it('intersects the role policies with a session policy', async () => {
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }] };
    const res = await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName: 'readonly', Policy: JSON.stringify(policy) }, await f.tokenFor('carol', { mfa: true }));
    expect(res.status).toBe(200);
    const session = await principalOf(sessionToken(res.body));
    expect(decide(session, 'orders:GetOrder')).toBe('Allow');
    expect(decide(session, 'orders:DeleteOrder')).toBe('ImplicitDeny');
    const plain = await principalOf(sessionToken((await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName: 'readonly' }, await f.tokenFor('carol', { mfa: true }))).body));
    expect(session.fingerprint).not.toBe(plain.fingerprint);
  });

  it('refuses an invalid session policy with its findings', async () => {
    const res = await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName: 'x1', Policy: { Statement: [{ Effect: 'Permit', Action: '*', Resource: '*' }] } }, await f.tokenFor('carol', { mfa: true }));
    expect(res).toMatchObject({ status: 400, body: { error: 'session_policy_invalid' } });
    expect(res.body['findings']).toContainEqual(expect.objectContaining({ code: 'INVALID_EFFECT' }));
  });

  it('denies a role that does not exist the same way as an untrusted one', async () => {
    const res = await f.post('/AssumeRole', { RoleArn: 'arn:aws:iam::111122223333:role/Nope', RoleSessionName: 'x1' }, await f.tokenFor('carol', { mfa: true }));
    expect(res).toMatchObject({ status: 403, body: { error: 'access_denied' } });
  });

  it('denies bob OrdersAdmin even with MFA: his policies do not allow sts:AssumeRole', async () => {
    const res = await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName: 'bob' }, await f.tokenFor('bob', { mfa: true }));
    expect(res).toMatchObject({ status: 403, body: { error: 'access_denied' } });
  });

  it('serves the signing keys as a JWKS that verifies the tokens it issues', async () => {
    const app = new Hono();
    app.get('/.well-known/jwks.json', f.runtime.jwksHandler!);
    const served = await app.request('/.well-known/jwks.json');
    expect(served.headers.get('cache-control')).toBe('public, max-age=300');
    const jwks: unknown = await served.json();
    expect((jwks as { keys: object[] }).keys[0]).not.toHaveProperty('d');
    const res = await f.post('/AssumeRole', { RoleArn: ORDERS_ADMIN, RoleSessionName: 'verify' }, await f.tokenFor('carol', { mfa: true }));
    const { payload } = await jwtVerify(sessionToken(res.body), createLocalJWKSet(jwks as never), {
      issuer: 'iamgate',
      audience: 'iamgate',
      currentDate: new Date(f.clock.now()),
    });
    expect(payload.sub).toBe('arn:aws:sts::111122223333:assumed-role/OrdersAdmin/verify');
  });
});
