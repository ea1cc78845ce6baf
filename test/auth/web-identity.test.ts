// Kubernetes workload identity: a service-account token (real signature, served by a real JWKS
// endpoint) acts as the role whose trust policy admits its sub and aud, per request (the IRSA
// way) or by exchange with AssumeRoleWithWebIdentity; any other sub or aud is denied.
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/identity/index.js';
import { sessionToken, startAuthFixture, useAuthFixture, type AuthFixture } from './fixture.js';
import { answerOf, decide as decideOn, EXAMPLE_DIRECTORY } from './helpers.js';

const WORKER_SUB = 'system:serviceaccount:orders:orders-worker';
const WORKER_ROLE = 'arn:aws:iam::111122223333:role/OrdersWorker';
const ORDER = 'arn:aws:orders:us-east-1:111122223333:order/7';

const decide = (p: Principal, action: string): string => decideOn(p, action, ORDER);

describe('web identity', () => {
  const f = useAuthFixture();

  const authenticate = async (token: string) => f.runtime.authenticator.authenticate({ authorization: `Bearer ${token}` });

  it('lets the orders-worker service account act as OrdersWorker on each request', async () => {
    const outcome = await authenticate(await f.serviceAccountToken(WORKER_SUB));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const p = outcome.principal;
    expect(p).toMatchObject({
      type: 'WebIdentity',
      arn: 'arn:aws:sts::111122223333:assumed-role/OrdersWorker/system.serviceaccount.orders.orders-worker',
      roleArn: WORKER_ROLE,
      issuer: 'https://kubernetes.default.svc',
    });
    expect(p.context['kubernetes.default.svc:sub']).toBe(WORKER_SUB);
    expect(p.context['aws:FederatedProvider']).toBe('kubernetes.default.svc');
    expect(p.context['aws:PrincipalType']).toBe('AssumedRole');
    expect(decide(p, 'orders:GetOrder')).toBe('Allow');
    expect(decide(p, 'orders:DeleteOrder')).toBe('ImplicitDeny');
  });

  it('denies another service account of the same cluster', async () => {
    const outcome = await authenticate(await f.serviceAccountToken('system:serviceaccount:orders:default'));
    expect(outcome).toMatchObject({ ok: false, code: 'principal_unknown', status: 401 });
  });

  it('denies a token for an audience the trust policy does not accept, and one for an audience iamgate does not accept', async () => {
    expect(await authenticate(await f.serviceAccountToken(WORKER_SUB, 'other-aud'))).toMatchObject({ ok: false, code: 'principal_unknown' });
    expect(await authenticate(await f.serviceAccountToken(WORKER_SUB, 'billing'))).toMatchObject({ ok: false, code: 'token_audience_invalid' });
  });

  it('exchanges the right service-account token for a role session', async () => {
    const res = await f.post('/AssumeRoleWithWebIdentity', {
      RoleArn: WORKER_ROLE,
      RoleSessionName: 'worker-1',
      WebIdentityToken: await f.serviceAccountToken(WORKER_SUB),
    });
    expect(res.status).toBe(200);
    const outcome = await authenticate(sessionToken(res.body));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.principal).toMatchObject({ type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/OrdersWorker/worker-1' });
    expect(outcome.principal.context['kubernetes.default.svc:sub']).toBe(WORKER_SUB);
    expect(decide(outcome.principal, 'orders:ListOrders')).toBe('Allow');
  });

  it('refuses session tags in the exchange when the trust policy does not allow sts:TagSession, issuing nothing', async () => {
    const before = f.events.length;
    const res = await f.post('/AssumeRoleWithWebIdentity', {
      RoleArn: WORKER_ROLE,
      RoleSessionName: 'worker-tagged',
      WebIdentityToken: await f.serviceAccountToken(WORKER_SUB),
      Tags: [{ Key: 'team', Value: 'admins' }],
    });
    expect(res).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(f.events.slice(before)).toEqual([expect.objectContaining({ action: 'AssumeRoleWithWebIdentity', outcome: 'denied', code: 'trust_policy_denied' })]);
  });

  it('refuses the exchange for a wrong sub or aud, and for tokens of other issuers', async () => {
    const body = (token: string) => ({ RoleArn: WORKER_ROLE, RoleSessionName: 'worker-1', WebIdentityToken: token });
    expect(await f.post('/AssumeRoleWithWebIdentity', body(await f.serviceAccountToken('system:serviceaccount:orders:default')))).toMatchObject({
      status: 403,
      body: { error: 'access_denied' },
    });
    expect(await f.post('/AssumeRoleWithWebIdentity', body(await f.serviceAccountToken(WORKER_SUB, 'other-aud')))).toMatchObject({
      status: 403,
      body: { error: 'access_denied' },
    });
    expect(await f.post('/AssumeRoleWithWebIdentity', body(await f.serviceAccountToken(WORKER_SUB, 'billing')))).toMatchObject({
      status: 400,
      body: { error: 'invalid_identity_token', reason: 'token_audience_invalid' },
    });
    expect(await f.post('/AssumeRoleWithWebIdentity', body(await f.tokenFor('alice')))).toMatchObject({
      status: 400,
      body: { error: 'invalid_identity_token', reason: 'token_issuer_unknown' },
    });
  });

  it('refuses to exchange for a role whose trust policy does not name the provider', async () => {
    const res = await f.post('/AssumeRoleWithWebIdentity', {
      RoleArn: 'arn:aws:iam::111122223333:role/OrdersAdmin',
      RoleSessionName: 'worker-1',
      WebIdentityToken: await f.serviceAccountToken(WORKER_SUB),
    });
    expect(res).toMatchObject({ status: 403, body: { error: 'access_denied' } });
  });

  it('answers a role that does not exist exactly as one that does not trust the provider, also with an invalid session policy', async () => {
    const token = await f.serviceAccountToken(WORKER_SUB);
    const policy = { Statement: [{ Effect: 'Permit', Action: '*', Resource: '*' }] };
    const call = (RoleArn: string) => f.post('/AssumeRoleWithWebIdentity', { RoleArn, RoleSessionName: 'worker-1', WebIdentityToken: token, Policy: policy });
    const existing = await call('arn:aws:iam::111122223333:role/OrdersAdmin');
    const missing = await call('arn:aws:iam::111122223333:role/NoSuchRole');
    expect(answerOf(missing)).toEqual(answerOf(existing));
  });

  it('decides a role that does not exist as one that trusts no one, recording only a different reason', async () => {
    const call = async (RoleArn: string) => {
      await f.post('/AssumeRoleWithWebIdentity', { RoleArn, RoleSessionName: 'worker-1', WebIdentityToken: await f.serviceAccountToken(WORKER_SUB) });
      const { code, target, requestId, ...rest } = f.events.at(-1)!;
      return { code, rest };
    };
    const untrusted = await call('arn:aws:iam::111122223333:role/OrdersAdmin');
    const missing = await call('arn:aws:iam::111122223333:role/NoSuchRole');
    expect([untrusted.code, missing.code]).toEqual(['trust_policy_denied', 'role_unknown']);
    expect(missing.rest).toEqual(untrusted.rest);
  });
});

describe('session tags in a web-identity exchange', () => {
  const TAGGED_ROLE = 'arn:aws:iam::111122223333:role/TaggedWorker';
  const f = useAuthFixture({
    webIdentityRoles: ['TaggedWorker'],
    directoryYaml: `
account: "111122223333"
roles:
  TaggedWorker:
    tags: { team: red }
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Principal: { Federated: kubernetes.default.svc }, Action: sts:AssumeRoleWithWebIdentity, Condition: { StringEquals: { "kubernetes.default.svc:sub": "${WORKER_SUB}" } } }
        - { Effect: Allow, Principal: { Federated: kubernetes.default.svc }, Action: sts:TagSession, Condition: { StringEquals: { "aws:RequestTag/team": blue } } }
`,
  });

  const exchange = async (team: string) =>
    f.post('/AssumeRoleWithWebIdentity', { RoleArn: TAGGED_ROLE, RoleSessionName: 'tagged', WebIdentityToken: await f.serviceAccountToken(WORKER_SUB), Tags: [{ Key: 'team', Value: team }] });

  it('become principal tags over the role’s when the trust policy allows sts:TagSession for them', async () => {
    const res = await exchange('blue');
    expect(res.status).toBe(200);
    const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${sessionToken(res.body)}` });
    expect(outcome.ok && outcome.principal.context['aws:PrincipalTag/team']).toBe('blue');
  });

  it('are refused when the trust policy’s sts:TagSession does not allow those values', async () => {
    expect(await exchange('admins')).toMatchObject({ status: 403, body: { error: 'access_denied' } });
  });
});

// "You can configure your identity provider to use an attribute associated with your users ... as
// the source identity when calling AssumeRoleWithWebIdentity. You do this by adding a claim to the
// JSON web token" (STS API reference): the claim https://aws.amazon.com/source_identity, which needs
// sts:SetSourceIdentity in the trust policy, as the SourceIdentity parameter of AssumeRole does.
describe('web identity with a source identity claim', () => {
  const CLAIM = 'https://aws.amazon.com/source_identity';
  let f: AuthFixture;
  let example: string;
  beforeAll(async () => {
    f = await startAuthFixture();
    // Its policy files are named relative to its own folder: name them absolutely for the copy.
    example = (await readFile(EXAMPLE_DIRECTORY, 'utf8')).replaceAll('file: policies/', `file: ${dirname(EXAMPLE_DIRECTORY)}/policies/`);
  });
  afterAll(async () => {
    await f.close();
  });

  const exchange = async (claims: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    f.post('/AssumeRoleWithWebIdentity', { RoleArn: WORKER_ROLE, RoleSessionName: 'worker-1', WebIdentityToken: await f.serviceAccountToken(WORKER_SUB, 'iamgate', claims), ...extra });

  it('refuses a token that claims a source identity when the trust policy does not allow sts:SetSourceIdentity, and one whose claim is malformed', async () => {
    await f.useDirectory(example);
    expect((await exchange({})).status).toBe(200);
    expect(await exchange({ [CLAIM]: 'alice' })).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(await exchange({ [CLAIM]: 'aws:alice' })).toMatchObject({ status: 400, body: { error: 'invalid_identity_token', reason: 'source_identity_invalid' } });
    expect(await exchange({}, { SourceIdentity: 'alice' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('gives the session the claimed source identity when the trust policy allows sts:SetSourceIdentity', async () => {
    const trusting = example.replace(
      'Action: sts:AssumeRoleWithWebIdentity\n          Condition:\n            StringEquals:\n              "kubernetes.default.svc:sub": system:serviceaccount:orders:orders-worker',
      'Action: [sts:AssumeRoleWithWebIdentity, sts:SetSourceIdentity]\n          Condition:\n            StringEquals:\n              "kubernetes.default.svc:sub": system:serviceaccount:orders:orders-worker',
    );
    expect(trusting).not.toBe(example);
    await f.useDirectory(trusting);
    const res = await exchange({ [CLAIM]: 'alice' });
    expect(res).toMatchObject({ status: 200, body: { SourceIdentity: 'alice' } });
    const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${sessionToken(res.body)}` });
    expect(outcome.ok && outcome.principal.context['aws:SourceIdentity']).toBe('alice');
    const plain = await exchange({});
    expect(plain.body['SourceIdentity']).toBeUndefined();
  });
});
