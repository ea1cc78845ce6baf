// Who may assume a role in the directory's own account, as the IAM User Guide documents it: a
// trust policy that names the caller itself (its user ARN, its session ARN, or the role of a
// calling session) grants on its own, while one that names only the account (its id or its root
// ARN) delegates to the caller's identity policies. Either way the trust policy must allow, an
// explicit Deny in the caller's policies wins, and the caller's permissions boundary and session
// policies still limit it. Over real HTTP, with the real authenticator and iamgate's STS; and
// offline (`iamgate test`), which must answer each user's case as the STS does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideOffline, loadPolicyWorld, resolvePrincipal } from '../../src/policy-testing/index.js';
import { rawRequest } from '../support/net.js';
import { ADVERSARIAL_FIXTURES } from '../adversarial/support/fixtures.js';
import { startStsGateway, type StsGateway } from '../adversarial/support/sts-gateway.js';

const ACCOUNT = '111122223333';
const USER = (name: string): string => `arn:aws:iam::${ACCOUNT}:user/${name}`;
const ROLE = (name: string): string => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const SESSION = (role: string, name: string): string => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`;
const trust = (principal: string | readonly string[]): string =>
  `{ Version: "2012-10-17", Statement: [{ Effect: Allow, Principal: { AWS: ${JSON.stringify(principal)} }, Action: sts:AssumeRole }] }`;

const DIRECTORY = `
version: 1
account: "${ACCOUNT}"
partition: aws
policies:
  AssumeAnyRole:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: sts:AssumeRole, Resource: "*" }] }
  AssumeAndTagAnyRole:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: ["sts:AssumeRole", "sts:TagSession"], Resource: "*" }] }
  OrdersOnly:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: "orders:*", Resource: "*" }] }
  OrdersAndAssume:
    document: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: ["orders:*", "sts:AssumeRole"], Resource: "*" }] }
users:
  named: {}
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
`;

describe('AssumeRole in the same account', () => {
  let sts: StsGateway;
  beforeAll(async () => {
    sts = await startStsGateway(DIRECTORY);
  });
  afterAll(() => sts?.close());

  const userToken = async (user: string): Promise<string> => sts.idp.token(sts.idp.claims(user, Date.now()));

  /** Calls AssumeRole with a bearer token; answers the status and the error code or the session token. */
  async function assume(token: string, role: string, extra: Record<string, unknown> = {}): Promise<{ status: number; code: string; token?: string }> {
    const res = await rawRequest(`${sts.gw.url}/.iamgate/sts/AssumeRole`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ RoleArn: ROLE(role), RoleSessionName: 'probe', ...extra }),
    });
    const body = JSON.parse(res.body) as { code?: string; Credentials?: { SessionToken?: string } };
    const session = body.Credentials?.SessionToken;
    return { status: res.status, code: body.code ?? 'ok', ...(session !== undefined ? { token: session } : {}) };
  }
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

  it('is decided offline as the STS decides it, for every user and role of the directory', async () => {
    const load = await loadPolicyWorld(sts.directory, { directory: sts.directory, routes: ADVERSARIAL_FIXTURES.routes });
    if (!load.ok) throw new Error(JSON.stringify(load.findings));
    const users = ['named', 'unnamed', 'granted', 'named-but-denies', 'named-bounded', 'named-bounded-allows'];
    const roles = ['NamesUsers', 'TrustsAccountId', 'TrustsAccountRoot', 'Hop'];
    const now = Date.now();
    for (const user of users) {
      for (const role of roles) {
        const principal = resolvePrincipal(load.world, { user }, now)!;
        const offline = decideOffline(load.world, principal, { action: 'sts:AssumeRole', resource: ROLE(role) }, {}, now);
        const online = await outcome(user, role);
        expect({ user, role, allowed: offline.decision === 'Allow' }).toEqual({ user, role, allowed: online.status === 200 });
      }
    }
  });
});
