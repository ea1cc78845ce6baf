// The global condition keys each kind of principal carries, by presence and format, as the IAM User
// Guide ("AWS global condition context keys") describes them and docs/policy-evaluation.md maps
// them: a user by JWT (with and without a second factor), a GetSessionToken session, role sessions
// from AssumeRole (with session tags, and chained) and from AssumeRoleWithWebIdentity, and a workload
// acting as a role per request. Real keys and signatures; the STS over its HTTP app. A key iamgate
// does not supply is absent (never an empty string), so the whole context is compared.
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/identity/index.js';
import { compilePolicy, createContext, evaluate, parsePolicy } from '../../src/policy/index.js';
import { sessionToken, useAuthFixture } from './fixture.js';

const ACCOUNT = '111122223333';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const WORKER = `arn:aws:iam::${ACCOUNT}:role/Worker`;
const ORDERS_WORKER = `arn:aws:iam::${ACCOUNT}:role/OrdersWorker`;
const SA_SUB = 'system:serviceaccount:orders:orders-worker';

const DIRECTORY = `
version: 1
account: "${ACCOUNT}"
partition: aws
users:
  alice:
    tags: { team: orders }
    inlinePolicies:
      Assume: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: ["sts:AssumeRole", "sts:TagSession", "sts:GetSessionToken", "iamgate:EnrollMfa", "iamgate:ConfirmMfa"], Resource: "*" }] }
roles:
  Worker:
    tags: { team: platform, tier: gold }
    inlinePolicies:
      Assume: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: sts:AssumeRole, Resource: "*" }] }
    trustPolicy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { AWS: "${ACCOUNT}" }, Action: ["sts:AssumeRole", "sts:TagSession"] }]
  OrdersWorker:
    tags: { team: orders }
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: { Federated: kubernetes.default.svc }
          Action: sts:AssumeRoleWithWebIdentity
          Condition: { StringEquals: { "kubernetes.default.svc:sub": "${SA_SUB}" } }
`;

/** `2026-01-15T12:00:00Z`: the format AWS gives date keys, at whole seconds. */
const iso = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const USER_ID = expect.stringMatching(/^AIDA[A-Z0-9]{17}$/);
const sessionId = (name: string): unknown => expect.stringMatching(new RegExp(`^AROA[A-Z0-9]{17}:${name.replaceAll('.', '\\.')}$`));

/** The keys of the user alice without MFA, her token issued at `at`; `extra` adds or replaces keys. */
const aliceUser = (at: number, extra: Record<string, unknown>): Record<string, unknown> => ({
  'aws:PrincipalArn': ALICE,
  'aws:PrincipalAccount': ACCOUNT,
  'aws:PrincipalType': 'User',
  'aws:userid': USER_ID,
  'aws:username': 'alice',
  'aws:MultiFactorAuthPresent': false,
  'aws:TokenIssueTime': iso(at),
  'aws:PrincipalTag/team': 'orders',
  ...extra,
});
/** The keys of a role session without MFA, issued at `at`; `extra` adds or replaces keys. */
const roleSession = (role: string, name: string, at: number, extra: Record<string, unknown>): Record<string, unknown> => ({
  'aws:PrincipalArn': role,
  'aws:PrincipalAccount': ACCOUNT,
  'aws:PrincipalType': 'AssumedRole',
  'aws:userid': sessionId(name),
  'aws:RoleSessionName': name,
  'aws:MultiFactorAuthPresent': false,
  'aws:TokenIssueTime': iso(at),
  ...extra,
});
/** What a session of OrdersWorker from the service-account token carries beyond the role session's keys. */
const WEB_IDENTITY_KEYS = {
  'aws:PrincipalTag/team': 'orders',
  'aws:FederatedProvider': 'kubernetes.default.svc',
  'kubernetes.default.svc:sub': SA_SUB,
  'kubernetes.default.svc:aud': 'iamgate',
};

describe('the global condition keys of each kind of principal', () => {
  const f = useAuthFixture({ directoryYaml: DIRECTORY });

  async function principalOf(token: string): Promise<Principal> {
    const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${token}` });
    if (!outcome.ok) throw new Error(outcome.code);
    return outcome.principal;
  }
  async function issued(path: string, body: Record<string, unknown>, token?: string): Promise<string> {
    const res = await f.post(path, body, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return sessionToken(res.body);
  }

  it('gives a user signed in without a second factor its name, AIDA id, tags, MFA false and the token’s issue time, and no session keys', async () => {
    const issuedAt = f.clock.now();
    const p = await principalOf(await f.tokenFor('alice'));
    expect(p.context).toEqual(aliceUser(issuedAt, {}));
  });

  it('gives a user whose token says MFA the second factor’s age in seconds, counted at each request', async () => {
    const token = await f.tokenFor('alice', { mfa: true });
    const at = f.clock.now();
    expect((await principalOf(token)).context).toMatchObject({ 'aws:MultiFactorAuthPresent': true, 'aws:MultiFactorAuthAge': 0, 'aws:TokenIssueTime': iso(at) });
    f.clock.advance(90_000);
    expect((await principalOf(token)).context).toMatchObject({ 'aws:MultiFactorAuthPresent': true, 'aws:MultiFactorAuthAge': 90, 'aws:TokenIssueTime': iso(at) });
  });

  it('gives a GetSessionToken session the user’s keys with MFA present since the code, issued when the session was', async () => {
    const alice = await f.tokenFor('alice');
    const started = await f.post('/mfa/enroll', {}, alice);
    const secret = started.body['SecretBase32'] as string;
    const code = (): Promise<string> => generate({ secret, epoch: Math.floor(f.clock.now() / 1000) });
    expect((await f.post('/mfa/confirm', { TokenCode: await code() }, alice)).status).toBe(200);
    f.clock.advance(30_000);
    const at = f.clock.now();
    const session = await issued('/GetSessionToken', { TokenCode: await code() }, alice);
    f.clock.advance(5_000);
    expect((await principalOf(session)).context).toEqual(aliceUser(at, { 'aws:MultiFactorAuthPresent': true, 'aws:MultiFactorAuthAge': 5 }));
  });

  it('gives an AssumeRole session the role’s ARN as aws:PrincipalArn, ROLEID:session as aws:userid, its session name, and session tags over the role’s, without aws:username', async () => {
    const at = f.clock.now();
    const session = await issued('/AssumeRole', { RoleArn: WORKER, RoleSessionName: 'probe', Tags: [{ Key: 'team', Value: 'blue' }] }, await f.tokenFor('alice'));
    expect((await principalOf(session)).context).toEqual(roleSession(WORKER, 'probe', at, { 'aws:PrincipalTag/team': 'blue', 'aws:PrincipalTag/tier': 'gold' }));
  });

  it('lets a session tag replace the role’s tag whose key differs only in case, so no reader of the principal finds the role’s value beside it', async () => {
    const at = f.clock.now();
    // Tag keys are case-insensitive (IAM User Guide, "Passing session tags in AWS STS": a session tag
    // overrides a role tag with the same key regardless of case).
    const session = await issued('/AssumeRole', { RoleArn: WORKER, RoleSessionName: 'probe', Tags: [{ Key: 'TEAM', Value: 'blue' }] }, await f.tokenFor('alice'));
    expect((await principalOf(session)).context).toEqual(roleSession(WORKER, 'probe', at, { 'aws:PrincipalTag/TEAM': 'blue', 'aws:PrincipalTag/tier': 'gold' }));
  });

  it('does not carry session tags into a chained session, which has the second session’s name and issue time', async () => {
    const first = await issued('/AssumeRole', { RoleArn: WORKER, RoleSessionName: 'first', Tags: [{ Key: 'team', Value: 'blue' }] }, await f.tokenFor('alice'));
    f.clock.advance(10_000);
    const at = f.clock.now();
    const chained = await issued('/AssumeRole', { RoleArn: WORKER, RoleSessionName: 'second' }, first);
    expect((await principalOf(chained)).context).toMatchObject({
      'aws:userid': sessionId('second'),
      'aws:RoleSessionName': 'second',
      'aws:TokenIssueTime': iso(at),
      'aws:PrincipalTag/team': 'platform',
    });
  });

  it('gives an AssumeRoleWithWebIdentity session the provider and the token’s sub and aud besides the role session’s keys', async () => {
    const at = f.clock.now();
    const session = await issued('/AssumeRoleWithWebIdentity', { RoleArn: ORDERS_WORKER, RoleSessionName: 'worker-1', WebIdentityToken: await f.serviceAccountToken(SA_SUB) });
    expect((await principalOf(session)).context).toEqual(roleSession(ORDERS_WORKER, 'worker-1', at, WEB_IDENTITY_KEYS));
  });

  it('gives a workload acting as a role per request the same keys, named after its sub and issued when its token was', async () => {
    const at = f.clock.now();
    const p = await principalOf(await f.serviceAccountToken(SA_SUB));
    expect(p.context).toEqual(roleSession(ORDERS_WORKER, 'system.serviceaccount.orders.orders-worker', at, WEB_IDENTITY_KEYS));
  });

  describe('the MFA deny patterns of the IAM User Guide, on iamgate’s principals (every credential is temporary)', () => {
    const denyUnless = (operator: string, value: string) => {
      const doc = {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'orders:*', Resource: '*' },
          { Effect: 'Deny', Action: 'orders:*', Resource: '*', Condition: { [operator]: { 'aws:MultiFactorAuthPresent': value } } },
        ],
      };
      const { policy } = parsePolicy(doc, { kind: 'identity' });
      return compilePolicy(policy!, 'p', 'identity');
    };
    const patterns = { 'Bool false': denyUnless('Bool', 'false'), 'BoolIfExists false': denyUnless('BoolIfExists', 'false'), 'Null true': denyUnless('Null', 'true') };
    const outcomes = (p: Principal): Record<string, string> =>
      Object.fromEntries(
        Object.entries(patterns).map(([name, policy]) => [name, evaluate({ identity: [policy] }, { principal: p.arn, action: 'orders:GetOrder', resource: '*', context: createContext(p.context) }).decision]),
      );

    it('denies a caller without a second factor under both Bool and BoolIfExists, and never matches Null, as for AWS temporary credentials', async () => {
      const withoutMfa = [
        await principalOf(await f.tokenFor('alice')),
        await principalOf(await issued('/AssumeRole', { RoleArn: WORKER, RoleSessionName: 'no-mfa' }, await f.tokenFor('alice'))),
        await principalOf(await f.serviceAccountToken(SA_SUB)),
      ];
      for (const p of withoutMfa) expect(outcomes(p)).toEqual({ 'Bool false': 'ExplicitDeny', 'BoolIfExists false': 'ExplicitDeny', 'Null true': 'Allow' });
    });

    it('allows a caller with a second factor under all three', async () => {
      const withMfa = [
        await principalOf(await f.tokenFor('alice', { mfa: true })),
        await principalOf(await issued('/AssumeRole', { RoleArn: WORKER, RoleSessionName: 'with-mfa' }, await f.tokenFor('alice', { mfa: true }))),
      ];
      for (const p of withMfa) expect(outcomes(p)).toEqual({ 'Bool false': 'Allow', 'BoolIfExists false': 'Allow', 'Null true': 'Allow' });
    });
  });
});
