// Tokens offered where another kind is expected, and role sessions outliving what they were issued
// from: iamgate's own session tokens as web identities, identity-provider and service-account tokens
// dressed as sessions, a session signed by another deployment's key, sessions whose role was
// removed or rewritten after issue, and session policies or chained roles reaching past the role.
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWTPayload } from 'jose';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/identity/index.js';
import { PEOPLE, sessionToken, startAuthFixture, type AuthFixture } from '../auth/fixture.js';
import { decide, makeKey } from '../auth/helpers.js';

const ROLE = (name: string): string => `arn:aws:iam::111122223333:role/${name}`;
const ORDER = 'arn:aws:orders:us-east-1:111122223333:order/7';

/** The directory with the Open role's policies as given: what a reload after an edit would read. */
const directory = (openPolicies: readonly string[], withOpen = true): string => `
account: "111122223333"
policies:
  AssumeAnything:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: "sts:AssumeRole", Resource: "*" }]
  Reader:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: "orders:GetOrder", Resource: "*" }]
  Writer:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: "orders:UpdateOrder", Resource: "*" }]
users:
  dave: { policies: [AssumeAnything] }
roles:
${
  withOpen
    ? `  Open:
    policies: [${openPolicies.join(', ')}]
    trustPolicy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { AWS: "111122223333" }, Action: sts:AssumeRole }]
`
    : ''
}  Second:
    policies: [Writer]
    trustPolicy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { AWS: "111122223333" }, Action: sts:AssumeRole }]
  OrdersWorker:
    policies: [Reader]
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: { Federated: kubernetes.default.svc }
          Action: sts:AssumeRoleWithWebIdentity
`;

describe('tokens of one kind offered as another', () => {
  let f: AuthFixture;
  beforeEach(async () => {
    f = await startAuthFixture({ directoryYaml: directory(['Reader', 'AssumeAnything']) });
  });
  afterEach(async () => {
    await f.close();
  });

  const authenticate = (token: string) => f.runtime.authenticator.authenticate({ authorization: `Bearer ${token}` });
  const principalOf = async (token: string): Promise<Principal> => {
    const outcome = await authenticate(token);
    if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
    return outcome.principal;
  };
  const assume = async (body: Record<string, unknown>, token?: string) =>
    f.post('/AssumeRole', { RoleArn: ROLE('Open'), RoleSessionName: 'dave-s', ...body }, token ?? (await f.tokenFor('dave')));
  const openSession = async (body: Record<string, unknown> = {}): Promise<string> => {
    const res = await assume(body);
    expect(res.status).toBe(200);
    return sessionToken(res.body);
  };

  it('refuses an iamgate session token offered as the web identity of AssumeRoleWithWebIdentity', async () => {
    const res = await f.post('/AssumeRoleWithWebIdentity', { RoleArn: ROLE('OrdersWorker'), RoleSessionName: 'wi-1', WebIdentityToken: await openSession() });
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_identity_token', reason: 'token_issuer_unknown' } });
  });

  it('refuses a people token offered as a web identity', async () => {
    const res = await f.post('/AssumeRoleWithWebIdentity', { RoleArn: ROLE('OrdersWorker'), RoleSessionName: 'wi-1', WebIdentityToken: await f.tokenFor('dave') });
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_identity_token', reason: 'token_issuer_unknown' } });
  });

  it('reads a service-account token, as a bearer and as a web identity alike, as a session of its web-identity role', async () => {
    const token = await f.serviceAccountToken('system:serviceaccount:orders:orders-worker');
    expect(await principalOf(token)).toMatchObject({ type: 'WebIdentity', roleArn: ROLE('OrdersWorker') });
    const res = await f.post('/AssumeRoleWithWebIdentity', { RoleArn: ROLE('OrdersWorker'), RoleSessionName: 'wi-1', WebIdentityToken: token });
    expect(res.status).toBe(200);
  });

  it('refuses a session token with the same issuer, kid and claims signed by another deployment’s key', async () => {
    const genuine = await openSession();
    expect((await principalOf(genuine)).arn).toBe('arn:aws:sts::111122223333:assumed-role/Open/dave-s');
    const header = decodeProtectedHeader(genuine);
    const other = await makeKey(header.kid ?? 'k', 'ES256');
    const forged = await new SignJWT(decodeJwt(genuine)).setProtectedHeader({ alg: 'ES256', kid: header.kid ?? 'k', typ: 'JWT' }).sign(other.privateKey);
    expect(await authenticate(forged)).toMatchObject({ ok: false, status: 401 });
  });

  it('reads a people token carrying a session’s claims as the user it names, never as a role session', async () => {
    const genuine = decodeJwt(await openSession());
    // The identity provider's own key (written by the first token it signed), signing what an iamgate session token holds.
    const { kid, alg, ...material } = JSON.parse(await readFile(join(f.dir, 'people.jwk'), 'utf8')) as { kid: string; alg: string } & Record<string, unknown>;
    const key = await importJWK(material, alg);
    const t = Math.floor(f.clock.now() / 1000);
    const claims: JWTPayload = { ...genuine, iss: PEOPLE, aud: 'iamgate', sub: 'dave', iat: t, exp: t + 600 };
    const dressed = await new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(key);
    const p = await principalOf(dressed);
    expect(p).toMatchObject({ type: 'User', arn: 'arn:aws:iam::111122223333:user/dave' });
    expect(decide(p, 'orders:GetOrder', ORDER)).toBe('ImplicitDeny');
    // A user the directory does not hold gains nothing from the session claim either.
    const stranger = await new SignJWT({ ...claims, sub: 'Open' }).setProtectedHeader({ alg, kid }).sign(key);
    expect(await authenticate(stranger)).toMatchObject({ ok: false });
  });

  it('refuses a session whose role was removed after it was issued, cached or not', async () => {
    const session = await openSession();
    expect(decide(await principalOf(session), 'orders:GetOrder', ORDER)).toBe('Allow');
    await f.useDirectory(directory([], false));
    expect(await authenticate(session)).toMatchObject({ ok: false, status: 401, code: 'principal_unknown' });
  });

  it('gives a session its role’s policies as they are now, not as they were when it was issued', async () => {
    const session = await openSession();
    const before = await principalOf(session);
    expect([decide(before, 'orders:GetOrder', ORDER), decide(before, 'orders:UpdateOrder', ORDER)]).toEqual(['Allow', 'ImplicitDeny']);
    await f.useDirectory(directory(['Writer']));
    const after = await principalOf(session);
    expect([decide(after, 'orders:GetOrder', ORDER), decide(after, 'orders:UpdateOrder', ORDER)]).toEqual(['ImplicitDeny', 'Allow']);
  });

  it('lets a session policy only narrow the role: allowing every action grants nothing the role lacks', async () => {
    const Policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
    const p = await principalOf(await openSession({ Policy }));
    expect(decide(p, 'orders:GetOrder', ORDER)).toBe('Allow');
    for (const action of ['orders:UpdateOrder', 'orders:DeleteOrder', 'iamgate:RevokeSessions']) expect(decide(p, action, ORDER)).toBe('ImplicitDeny');
  });

  it('lets a session assume another role only as its session policy allows, and the chained session acts with that role’s policies alone', async () => {
    const readOnly = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' }] });
    const narrowed = await openSession({ Policy: readOnly });
    expect(await assume({ RoleArn: ROLE('Second'), RoleSessionName: 'chained' }, narrowed)).toMatchObject({ status: 403, body: { error: 'access_denied' } });

    const chained = await assume({ RoleArn: ROLE('Second'), RoleSessionName: 'chained' }, await openSession());
    expect(chained.status).toBe(200);
    const p = await principalOf(sessionToken(chained.body));
    expect(p.arn).toBe('arn:aws:sts::111122223333:assumed-role/Second/chained');
    expect([decide(p, 'orders:UpdateOrder', ORDER), decide(p, 'orders:GetOrder', ORDER), decide(p, 'sts:AssumeRole', ROLE('Open'))]).toEqual(['Allow', 'ImplicitDeny', 'ImplicitDeny']);
  });
});
