// Who may assume a role in the directory's own account, as the IAM User Guide documents it: a
// trust policy that names the caller itself (its user ARN, its session ARN, or the role of a
// calling session) grants on its own, while one that names only the account (its id or its root
// ARN) delegates to the caller's identity policies. Either way the trust policy must allow, an
// explicit Deny in the caller's policies wins, and the caller's permissions boundary and session
// policies still limit it. Over real HTTP, with the real authenticator and iamgate's STS; and
// offline (`iamgate test`), which must answer each user's case as the STS does.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/app/index.js';
import { decideOffline, loadPolicyWorld, resolvePrincipal } from '../../src/policy-testing/index.js';
import { rawRequest } from '../support/net.js';
import { useStarted } from '../support/suite.js';
import { ADVERSARIAL_FIXTURES } from '../adversarial/support/fixtures.js';
import { startStsGateway, type StsGateway } from '../adversarial/support/sts-gateway.js';

const ACCOUNT = '111122223333';
const USER = (name: string): string => `arn:aws:iam::${ACCOUNT}:user/${name}`;
const ROLE = (name: string): string => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const SESSION = (role: string, name: string): string => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`;
const trust = (principal: string | readonly string[]): string =>
  `{ Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: { AWS: ${JSON.stringify(principal)} }, Action: sts:AssumeRole }] }`;

/** A directory's opening, up to the policy that lets a caller assume any role its trust policy allows. */
const DIRECTORY_HEAD = `
version: 1
account: "${ACCOUNT}"
partition: aws
policies:
  AssumeAnyRole:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: sts:AssumeRole, Resource: "*" }] }`;

interface Assumed {
  readonly status: number;
  /** The answer's code (`ok` for none); for `access_denied`, the reason the call's audit record gives, which the answer does not say. */
  readonly code: string;
  readonly token?: string;
  readonly sourceIdentity?: string;
}

/** Calls AssumeRole with a bearer token; answers the status, the error code (or ok), the session token and the SourceIdentity answered. */
async function assumeOver(sts: StsGateway, token: string, role: string, extra: Record<string, unknown>): Promise<Assumed> {
  const res = await rawRequest(`${sts.gw.url}/.iamgate/sts/AssumeRole`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ RoleArn: ROLE(role), RoleSessionName: 'probe', ...extra }),
  });
  const body = JSON.parse(res.body) as { code?: string; requestId?: string; SourceIdentity?: string; Credentials?: { SessionToken?: string } };
  const session = body.Credentials?.SessionToken;
  const recorded = body.code === 'access_denied' ? sts.gw.audit.decisionsFor(body.requestId ?? '').map((e) => e.reason) : [];
  if (body.code === 'access_denied' && recorded.length !== 1) throw new Error(`access_denied with records ${JSON.stringify(recorded)}`);
  return {
    status: res.status,
    code: recorded[0] ?? body.code ?? 'ok',
    ...(session !== undefined ? { token: session } : {}),
    ...(body.SourceIdentity !== undefined ? { sourceIdentity: body.SourceIdentity } : {}),
  };
}

const DIRECTORY = `${DIRECTORY_HEAD}
  AssumeAndTagAnyRole:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: ["sts:AssumeRole", "sts:TagSession"], Resource: "*" }] }
  OrdersOnly:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "orders:*", Resource: "*" }] }
  OrdersAndAssume:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: ["orders:*", "sts:AssumeRole"], Resource: "*" }] }
  AssumeAnyRoleWithMfa:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: sts:AssumeRole, Resource: "*", Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } }] }
users:
  named: {}
  granted-with-mfa: { policies: [AssumeAnyRoleWithMfa] }
  unnamed: {}
  granted: { policies: [AssumeAnyRole] }
  tagger: { policies: [AssumeAndTagAnyRole] }
  named-but-denies:
    inlinePolicies:
      NoAssume: { Version: "2012-10-17", Statement: [{ Effect: Deny, Action: sts:AssumeRole, Resource: "${ROLE('NamesUsers')}" }] }
  named-bounded: { boundary: OrdersOnly }
  named-bounded-allows: { boundary: OrdersAndAssume }
roles:
  NamesUsers:
    trustPolicy: ${trust([USER('named'), USER('named-but-denies'), USER('named-bounded'), USER('named-bounded-allows')])}
  TrustsAccountId:
    trustPolicy: ${trust(ACCOUNT)}
  TrustsAccountRoot:
    trustPolicy: ${trust(`arn:aws:iam::${ACCOUNT}:root`)}
  Hop:
    trustPolicy: ${trust(USER('granted'))}
  NamesHopSession:
    trustPolicy: ${trust(SESSION('Hop', 'hop-one'))}
  NamesHopRole:
    trustPolicy: ${trust(ROLE('Hop'))}
  NamesHopRoleWithMfa:
    trustPolicy: { Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: { AWS: "${ROLE('Hop')}" }, Action: sts:AssumeRole, Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } }] }
`;

describe('AssumeRole in the same account', () => {
  const logged: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logged.push(line) });
  const sts = useStarted('the STS gateway', () => startStsGateway(DIRECTORY, { logger }), (started) => started.close());

  const userToken = async (user: string): Promise<string> => sts.idp.token(sts.idp.claims(user, Date.now()));

  const assume = (token: string, role: string, extra: Record<string, unknown> = {}): Promise<Assumed> => assumeOver(sts, token, role, extra);
  const outcome = async (user: string, role: string) => {
    const { status, code } = await assume(await userToken(user), role);
    return { status, code };
  };

  it('lets a user the trust policy names assume the role without any identity policy of its own', async () => {
    expect(await outcome('named', 'NamesUsers')).toEqual({ status: 200, code: 'ok' });
  });

  it('refuses a user without an identity Allow when the trust policy names only the account, by id or by root ARN', async () => {
    expect(await outcome('unnamed', 'TrustsAccountId')).toEqual({ status: 403, code: 'caller_not_allowed' });
    expect(await outcome('unnamed', 'TrustsAccountRoot')).toEqual({ status: 403, code: 'caller_not_allowed' });
  });

  it('lets a user whose identity policy allows sts:AssumeRole assume a role that trusts the account', async () => {
    expect(await outcome('granted', 'TrustsAccountId')).toEqual({ status: 200, code: 'ok' });
    expect(await outcome('granted', 'TrustsAccountRoot')).toEqual({ status: 200, code: 'ok' });
  });

  it('tells the operator in a log line, as in the audit record, which check refused each call answered access_denied alike', async () => {
    const calls = [['unnamed', 'TrustsAccountId'], ['granted', 'NamesUsers'], ['granted', 'NoSuchRole']] as const;
    const refused: { requestId?: string; code?: string; msg?: string }[] = [];
    for (const [user, role] of calls) {
      const before = logged.length;
      const res = await rawRequest(`${sts.gw.url}/.iamgate/sts/AssumeRole`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await userToken(user)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ RoleArn: ROLE(role), RoleSessionName: 'probe' }),
      });
      const { requestId, ...answer } = JSON.parse(res.body) as Record<string, unknown>;
      expect([res.status, answer]).toEqual([403, { error: 'access_denied', code: 'access_denied', message: 'The caller is not allowed to do this' }]);
      const lines = logged.slice(before).map((l) => JSON.parse(l) as { requestId?: string; code?: string; msg?: string });
      expect(lines.filter((l) => l.msg === 'sts call refused').map((l) => l.requestId)).toEqual([requestId]);
      refused.push(...lines.filter((l) => l.msg === 'sts call refused'));
      expect(sts.gw.audit.decisionsFor(String(requestId)).map((e) => e.reason)).toEqual([refused.at(-1)?.code]);
    }
    expect(refused.map((l) => l.code)).toEqual(['caller_not_allowed', 'trust_policy_denied', 'role_unknown']);
  });

  it('refuses a user whose identity policy allows sts:AssumeRole when the trust policy names someone else', async () => {
    expect(await outcome('granted', 'NamesUsers')).toEqual({ status: 403, code: 'trust_policy_denied' });
  });

  it('refuses session tags that the caller’s policies allow when the trust policy does not allow sts:TagSession', async () => {
    const token = await userToken('tagger');
    expect(await assume(token, 'TrustsAccountId')).toMatchObject({ status: 200, code: 'ok' });
    expect(await assume(token, 'TrustsAccountId', { Tags: [{ Key: 'team', Value: 'blue' }] })).toEqual({ status: 403, code: 'trust_policy_denied' });
  });

  it('refuses a user the trust policy names when its own policy explicitly denies sts:AssumeRole on the role', async () => {
    expect(await outcome('named-but-denies', 'NamesUsers')).toEqual({ status: 403, code: 'caller_not_allowed' });
  });

  it('refuses a user the trust policy names when its permissions boundary does not allow sts:AssumeRole, and not when it does', async () => {
    expect(await outcome('named-bounded', 'NamesUsers')).toEqual({ status: 403, code: 'caller_not_allowed' });
    expect(await outcome('named-bounded-allows', 'NamesUsers')).toEqual({ status: 200, code: 'ok' });
  });

  it('lets a role session the trust policy names by its session ARN assume the role without an identity Allow', async () => {
    const hop = await assume(await userToken('granted'), 'Hop', { RoleSessionName: 'hop-one' });
    expect(hop.status).toBe(200);
    expect(await assume(hop.token!, 'NamesHopSession')).toMatchObject({ status: 200, code: 'ok' });
    const other = await assume(await userToken('granted'), 'Hop', { RoleSessionName: 'hop-two' });
    expect(await assume(other.token!, 'NamesHopSession')).toMatchObject({ status: 403, code: 'trust_policy_denied' });
  });

  it('lets a session of a role the trust policy names assume it, within the session policy it was given', async () => {
    const hop = await assume(await userToken('granted'), 'Hop');
    expect(await assume(hop.token!, 'NamesHopRole')).toMatchObject({ status: 200, code: 'ok' });
    const ordersOnly = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'orders:*', Resource: '*' }] };
    const limited = await assume(await userToken('granted'), 'Hop', { Policy: ordersOnly });
    expect(limited.status).toBe(200);
    expect(await assume(limited.token!, 'NamesHopRole')).toMatchObject({ status: 403, code: 'caller_not_allowed' });
  });

  it('is decided offline as the STS decides it, for every user and role of the directory, mfa_required included', async () => {
    const load = await loadPolicyWorld(sts.directory, { directory: sts.directory, routes: ADVERSARIAL_FIXTURES.routes });
    if (!load.ok) throw new Error(JSON.stringify(load.findings));
    const users = ['named', 'unnamed', 'granted', 'granted-with-mfa', 'named-but-denies', 'named-bounded', 'named-bounded-allows'];
    const roles = ['NamesUsers', 'TrustsAccountId', 'TrustsAccountRoot', 'Hop'];
    const now = Date.now();
    for (const user of users) {
      for (const role of roles) {
        const principal = resolvePrincipal(load.world, { user }, now)!;
        const offline = decideOffline(load.world, principal, { action: 'sts:AssumeRole', resource: ROLE(role) }, {}, now);
        const online = await outcome(user, role);
        expect({ user, role, allowed: offline.decision === 'Allow', mfa: offline.reason === 'mfa_required' }).toEqual({ user, role, allowed: online.status === 200, mfa: online.code === 'mfa_required' });
      }
    }
  });

  it('refuses a role session that a second factor would let through as access_denied, offline too, since a session cannot send a code', async () => {
    const hop = await assume(await userToken('granted'), 'Hop', { RoleSessionName: 'hop-one' });
    expect(await assume(hop.token!, 'NamesHopRoleWithMfa')).toEqual({ status: 403, code: 'session_without_mfa' });
    const load = await loadPolicyWorld(sts.directory, { directory: sts.directory, routes: ADVERSARIAL_FIXTURES.routes });
    if (!load.ok) throw new Error(JSON.stringify(load.findings));
    const now = Date.now();
    const session = resolvePrincipal(load.world, { role: 'Hop', sessionName: 'hop-one' }, now)!;
    const offline = decideOffline(load.world, session, { action: 'sts:AssumeRole', resource: ROLE('NamesHopRoleWithMfa') }, {}, now);
    expect({ decision: offline.decision, reason: offline.reason }).toEqual({ decision: 'ImplicitDeny', reason: 'implicit_deny' });
  });
});

// SourceIdentity, as the IAM User Guide's "Monitor and control actions taken with assumed roles"
// describes it: setting one needs sts:SetSourceIdentity (the trust policy governs it as it governs
// sts:TagSession); the value is `sts:SourceIdentity` in the call's decisions and `aws:SourceIdentity`
// in every request made with the session; it persists through role chaining and cannot be changed.
const SET_SOURCE = `{ Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: { AWS: "${ACCOUNT}" }, Action: ["sts:AssumeRole", "sts:SetSourceIdentity"] }] }`;
const SOURCE_DIRECTORY = `${DIRECTORY_HEAD}
  AssumeAndSetSource:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: ["sts:AssumeRole", "sts:SetSourceIdentity"], Resource: "*" }] }
  OrdersForAlice:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: orders:GetOrder, Resource: "*", Condition: { StringEquals: { "aws:SourceIdentity": alice } } }] }
users:
  alice: { policies: [AssumeAndSetSource] }
  mallory: { policies: [AssumeAnyRole] }
roles:
  RequiresOwnName:
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: { AWS: "${ACCOUNT}" }
          Action: ["sts:AssumeRole", "sts:SetSourceIdentity"]
          Condition: { StringLike: { "sts:SourceIdentity": "\${aws:username}" } }
  AssumeOnly:
    trustPolicy: ${trust(ACCOUNT)}
  Hop:
    policies: [AssumeAndSetSource, OrdersForAlice]
    trustPolicy: ${SET_SOURCE}
  NextHop:
    policies: [OrdersForAlice]
    trustPolicy: ${SET_SOURCE}
`;

describe('AssumeRole with a SourceIdentity', () => {
  const sts = useStarted('the STS gateway', () => startStsGateway(SOURCE_DIRECTORY), (started) => started.close());

  const userToken = async (user: string): Promise<string> => sts.idp.token(sts.idp.claims(user, Date.now()));

  const assume = (token: string, role: string, extra: Record<string, unknown> = {}): Promise<Assumed> => assumeOver(sts, token, role, extra);
  const order = async (token: string): Promise<{ status: number }> => {
    const res = await rawRequest(`${sts.gw.url}/orders/1`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status };
  };

  it('sets the source identity a trust policy requires to be the caller’s user name, and refuses another value or none', async () => {
    const alice = await userToken('alice');
    expect(await assume(alice, 'RequiresOwnName', { SourceIdentity: 'alice' })).toMatchObject({ status: 200, code: 'ok', sourceIdentity: 'alice' });
    expect(await assume(alice, 'RequiresOwnName', { SourceIdentity: 'bob' })).toEqual({ status: 403, code: 'trust_policy_denied' });
    expect(await assume(alice, 'RequiresOwnName')).toEqual({ status: 403, code: 'trust_policy_denied' });
  });

  it('refuses a source identity when the trust policy does not allow sts:SetSourceIdentity, or the caller’s policies do not', async () => {
    const alice = await userToken('alice');
    expect(await assume(alice, 'AssumeOnly')).toMatchObject({ status: 200, code: 'ok' });
    expect(await assume(alice, 'AssumeOnly', { SourceIdentity: 'alice' })).toEqual({ status: 403, code: 'trust_policy_denied' });
    const mallory = await userToken('mallory');
    expect(await assume(mallory, 'Hop')).toMatchObject({ status: 200, code: 'ok' });
    expect(await assume(mallory, 'Hop', { SourceIdentity: 'mallory' })).toEqual({ status: 403, code: 'caller_not_allowed' });
  });

  it('refuses a malformed SourceIdentity before any decision', async () => {
    const alice = await userToken('alice');
    for (const bad of ['aws:alice', 'AWS:alice', 'a', 'alice smith', 'x'.repeat(65), 7]) {
      expect(await assume(alice, 'Hop', { SourceIdentity: bad }), String(bad)).toEqual({ status: 400, code: 'invalid_source_identity' });
    }
  });

  it('puts the source identity in every request made with the session and in its audit record', async () => {
    const alice = await userToken('alice');
    const before = sts.gw.audit.events.length;
    const withSource = await assume(alice, 'Hop', { SourceIdentity: 'alice' });
    const without = await assume(alice, 'Hop');
    const allowed = await order(withSource.token!);
    expect(allowed.status).toBe(200);
    expect((await order(without.token!)).status).toBe(403);
    // This test's records only: earlier tests issued sessions with a source identity too.
    const records = sts.gw.audit.events.slice(before);
    const reads = records.filter((e) => e.action === 'orders:GetOrder');
    expect(reads.map((e) => [e.decision, e.principal?.sourceIdentity])).toEqual([['Allow', 'alice'], ['Deny', undefined]]);
    const issued = records.filter((e) => e.action === 'sts:AssumeRole');
    expect(issued.map((e) => [e.decision, e.principal?.sourceIdentity])).toEqual([['Allow', 'alice'], ['Allow', undefined]]);
  });

  it('carries the source identity through role chaining, where it may be repeated but not changed, and needs sts:SetSourceIdentity on every role', async () => {
    const hop = await assume(await userToken('alice'), 'Hop', { SourceIdentity: 'alice', RoleSessionName: 'first' });
    const chained = await assume(hop.token!, 'NextHop', { RoleSessionName: 'second' });
    expect(chained).toMatchObject({ status: 200, sourceIdentity: 'alice' });
    expect((await order(chained.token!)).status).toBe(200);
    expect(await assume(hop.token!, 'NextHop', { SourceIdentity: 'alice' })).toMatchObject({ status: 200, sourceIdentity: 'alice' });
    expect(await assume(hop.token!, 'NextHop', { SourceIdentity: 'mallory' })).toEqual({ status: 403, code: 'source_identity_immutable' });
    // The refusal is recorded under the source identity the session carries, not the one it asked for.
    const refused = sts.gw.audit.events.filter((e) => e.reason === 'source_identity_immutable');
    expect(refused.map((e) => e.principal)).toEqual([expect.objectContaining({ arn: SESSION('Hop', 'first'), sourceIdentity: 'alice' })]);
    // AssumeOnly's trust policy allows sts:AssumeRole alone: a session that carries a source identity cannot enter.
    expect(await assume(hop.token!, 'AssumeOnly')).toEqual({ status: 403, code: 'trust_policy_denied' });
    const plain = await assume(await userToken('alice'), 'Hop');
    expect(await assume(plain.token!, 'AssumeOnly')).toMatchObject({ status: 200, code: 'ok' });
  });

  it('is decided offline as the STS and the gateway decide it, for a role session that carries a source identity', async () => {
    const load = await loadPolicyWorld(sts.directory, { directory: sts.directory, routes: ADVERSARIAL_FIXTURES.routes });
    if (!load.ok) throw new Error(JSON.stringify(load.findings));
    const now = Date.now();
    const read = (spec: Parameters<typeof resolvePrincipal>[1]) => resolvePrincipal(load.world, spec, now)!;
    const get = { method: 'GET', path: '/orders/1' };
    expect(decideOffline(load.world, read({ role: 'Hop', sourceIdentity: 'alice' }), get, {}, now).decision).toBe('Allow');
    expect(decideOffline(load.world, read({ role: 'Hop' }), get, {}, now).decision).toBe('ImplicitDeny');
    const alice = read({ user: 'alice' });
    const set = (role: string) => decideOffline(load.world, alice, { action: 'sts:SetSourceIdentity', resource: ROLE(role) }, { 'sts:SourceIdentity': 'alice' }, now).decision;
    expect(set('Hop')).toBe('Allow');
    expect(set('AssumeOnly')).toBe('ImplicitDeny');
  });
});
