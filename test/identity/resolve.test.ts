// From verified facts to principals: the global context keys AWS defines, policy sets compiled
// once and shared, fingerprints that change exactly when a principal's policies change, users
// who must use MFA, role sessions with session policies and tags.
import { describe, expect, it } from 'vitest';
import { createContext, evaluate } from '../../src/policy/index.js';
import { buildDirectory, createPrincipalResolver, principalAt, readDirectoryDocument, type Directory, type Principal } from '../../src/identity/index.js';

const T0 = Date.UTC(2026, 2, 1, 8, 30, 15, 250);
const AUTH = { issuer: 'https://idp.test', issuedAt: T0, expiresAt: T0 + 3600_000, authMethods: ['pwd'] };

function directoryOf(doc: unknown): Directory {
  const { model, findings } = readDirectoryDocument(doc);
  if (!model) throw new Error(JSON.stringify(findings));
  return buildDirectory(model, new Map());
}

const policy = (action: string, extra: object = {}) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*', ...extra }] });

function doc(readAction = 'orders:GetOrder'): unknown {
  return {
    account: '111122223333',
    groups: { readers: { inlinePolicies: { Read: policy(readAction) } }, writers: { inlinePolicies: { Write: policy('orders:CreateOrder') } } },
    users: {
      alice: { path: '/eng/', groups: ['readers'], tags: { team: 'orders', level: '3' } },
      bob: { inlinePolicies: { Own: policy('orders:ListOrders') } },
      mona: { mfaRequired: true, inlinePolicies: { All: policy('orders:*') } },
    },
    roles: {
      Admin: {
        tags: { team: 'platform' },
        inlinePolicies: { All: policy('orders:*') },
        trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'sts:AssumeRole' }] },
      },
    },
  };
}

function decide(p: Principal, action: string): string {
  return evaluate(p.policySet, { principal: p.arn, action, resource: 'arn:aws:orders:us-east-1:111122223333:order/1', context: createContext(p.context) }).decision;
}

describe('principal resolution', () => {
  it('sets the global condition keys of a user as AWS names them', () => {
    const r = createPrincipalResolver(directoryOf(doc()));
    const result = r.user({ ...AUTH, userName: 'alice', mfa: true, mfaAt: T0 - 90_000 }, T0);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const p = result.principal;
    expect(p.context).toEqual({
      'aws:username': 'alice',
      'aws:userid': p.userId,
      'aws:PrincipalArn': 'arn:aws:iam::111122223333:user/eng/alice',
      'aws:PrincipalType': 'User',
      'aws:PrincipalAccount': '111122223333',
      'aws:PrincipalTag/team': 'orders',
      'aws:PrincipalTag/level': '3',
      'aws:MultiFactorAuthPresent': true,
      'aws:MultiFactorAuthAge': 90,
      'aws:TokenIssueTime': '2026-03-01T08:30:15Z',
    });
    expect(principalAt(p, T0 + 30_000).context['aws:MultiFactorAuthAge']).toBe(120);
  });

  it('says MultiFactorAuthPresent false and leaves out the age without a second factor', () => {
    const r = createPrincipalResolver(directoryOf(doc()));
    const result = r.user({ ...AUTH, userName: 'bob', mfa: false }, T0);
    if (!result.ok) throw new Error(result.reason);
    expect(result.principal.context['aws:MultiFactorAuthPresent']).toBe(false);
    expect(result.principal.context).not.toHaveProperty('aws:MultiFactorAuthAge');
    expect(principalAt(result.principal, T0 + 5000)).toBe(result.principal);
  });

  it('reuses the compiled policy set of a user and of a user with the same asserted groups', () => {
    const r = createPrincipalResolver(directoryOf(doc()));
    const one = r.user({ ...AUTH, userName: 'alice', mfa: false }, T0);
    const two = r.user({ ...AUTH, userName: 'alice', mfa: false, tags: { team: 'x' } }, T0);
    expect(one.ok && two.ok && one.principal.policySet === two.principal.policySet).toBe(true);
    const withGroup = r.user({ ...AUTH, userName: 'alice', mfa: false, groups: ['writers', 'nosuch'] }, T0);
    const again = r.user({ ...AUTH, userName: 'alice', mfa: false, groups: ['writers'] }, T0);
    if (!withGroup.ok || !again.ok || !one.ok) throw new Error('unresolved');
    expect(withGroup.principal.policySet).toBe(again.principal.policySet);
    expect(withGroup.principal.fingerprint).not.toBe(one.principal.fingerprint);
    expect(decide(withGroup.principal, 'orders:CreateOrder')).toBe('Allow');
    expect(decide(one.principal, 'orders:CreateOrder')).toBe('ImplicitDeny');
  });

  it('changes the fingerprint of exactly the principals whose policies changed', () => {
    const before = directoryOf(doc('orders:GetOrder'));
    const after = directoryOf(doc('orders:Get*'));
    expect(after.generation).not.toBe(before.generation);
    expect(after.users.get('alice')!.fingerprint).not.toBe(before.users.get('alice')!.fingerprint);
    expect(after.users.get('bob')!.fingerprint).toBe(before.users.get('bob')!.fingerprint);
    expect(after.roles.get('Admin')!.fingerprint).toBe(before.roles.get('Admin')!.fingerprint);
  });

  it('denies a user marked mfaRequired everything until a second factor is presented', () => {
    const r = createPrincipalResolver(directoryOf(doc()));
    const without = r.user({ ...AUTH, userName: 'mona', mfa: false }, T0);
    const withMfa = r.user({ ...AUTH, userName: 'mona', mfa: true, mfaAt: T0 }, T0);
    if (!without.ok || !withMfa.ok) throw new Error('unresolved');
    expect(decide(without.principal, 'orders:GetOrder')).toBe('ExplicitDeny');
    expect(decide(withMfa.principal, 'orders:GetOrder')).toBe('Allow');
  });

  it('resolves a role session: session ARN, role ARN as aws:PrincipalArn, session tags over role tags, session policy intersecting', () => {
    const r = createPrincipalResolver(directoryOf(doc()));
    const sessionPolicy = JSON.stringify(policy('orders:GetOrder'));
    const result = r.roleSession({ ...AUTH, mfa: false, type: 'AssumedRole', roleName: 'Admin', sessionName: 'ops-1', sessionPolicy, sessionTags: { team: 'orders' } }, T0);
    if (!result.ok) throw new Error(result.reason);
    const p = result.principal;
    expect(p.arn).toBe('arn:aws:sts::111122223333:assumed-role/Admin/ops-1');
    expect(p.context['aws:PrincipalArn']).toBe('arn:aws:iam::111122223333:role/Admin');
    expect(p.context['aws:PrincipalType']).toBe('AssumedRole');
    expect(p.context['aws:PrincipalTag/team']).toBe('orders');
    expect(p.context).not.toHaveProperty('aws:username');
    expect(decide(p, 'orders:GetOrder')).toBe('Allow');
    expect(decide(p, 'orders:DeleteOrder')).toBe('ImplicitDeny');
    const same = r.roleSession({ ...AUTH, mfa: false, type: 'AssumedRole', roleName: 'Admin', sessionName: 'ops-2', sessionPolicy }, T0);
    expect(same.ok && same.principal.policySet).toBe(p.policySet);
  });

  it('sets aws:RoleSessionName to the session name for a role session and leaves it out for a user', () => {
    const r = createPrincipalResolver(directoryOf(doc()));
    const session = r.roleSession({ ...AUTH, mfa: false, type: 'AssumedRole', roleName: 'Admin', sessionName: 'ops-1' }, T0);
    const user = r.user({ ...AUTH, userName: 'bob', mfa: false }, T0);
    if (!session.ok || !user.ok) throw new Error('unresolved');
    expect(session.principal.context['aws:RoleSessionName']).toBe('ops-1');
    expect(user.principal.context).not.toHaveProperty('aws:RoleSessionName');
  });

  it('decides every principal on one index merged from exactly its identity policies, as the engine benchmark does', () => {
    const d = directoryOf({
      account: '111122223333',
      groups: { readers: { inlinePolicies: { Read: policy('orders:GetOrder'), List: policy('orders:List*') } }, writers: { inlinePolicies: { Write: policy('orders:CreateOrder') } } },
      users: { alice: { groups: ['readers'], mfaRequired: true, inlinePolicies: { Own: policy('orders:DescribeStore') } } },
      roles: {
        Admin: {
          inlinePolicies: { All: policy('orders:*'), Deny: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'orders:Refund', Resource: '*' }] } },
          trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'sts:AssumeRole' }] },
        },
      },
    });
    const r = createPrincipalResolver(d);
    const user = r.user({ ...AUTH, userName: 'alice', mfa: false }, T0);
    const asserted = r.user({ ...AUTH, userName: 'alice', mfa: false, groups: ['writers'] }, T0);
    const session = r.roleSession({ ...AUTH, mfa: false, type: 'AssumedRole', roleName: 'Admin', sessionName: 'ops-1', sessionPolicy: JSON.stringify(policy('orders:*')) }, T0);
    if (!user.ok || !asserted.ok || !session.ok) throw new Error('unresolved');
    const sets = { user: user.principal.policySet, asserted: asserted.principal.policySet, session: session.principal.policySet, role: d.roles.get('Admin')!.policySet };
    expect(sets.user.identity.map((p) => p.name)).toEqual(['user/alice/Own', 'group/readers/Read', 'group/readers/List', 'iamgate/MfaRequired']);
    expect(sets.asserted.identity).toHaveLength(5);
    for (const [who, set] of Object.entries(sets)) {
      const index = set.identityIndex;
      expect(index, who).toBeDefined();
      // The very compiled statements of every identity policy, each once, in order: nothing else is decided on.
      expect(index!.statements, who).toHaveLength(set.identity.reduce((n, p) => n + p.statements.length, 0));
      set.identity.flatMap((p) => p.statements).forEach((s, i) => expect(index!.statements[i], `${who} statement ${i}`).toBe(s));
    }
  });

  it('shares one merged index among users whose identity policies are the same list, and only among them', () => {
    const d = directoryOf({
      account: '111122223333',
      groups: { readers: { inlinePolicies: { Read: policy('orders:GetOrder'), List: policy('orders:List*') } }, writers: { inlinePolicies: { Write: policy('orders:CreateOrder') } } },
      users: {
        ann: { groups: ['readers', 'writers'] },
        ben: { groups: ['readers', 'writers'] },
        cid: { groups: ['writers', 'readers'] },
        dee: { groups: ['readers', 'writers'], inlinePolicies: { Own: policy('orders:DescribeStore') } },
      },
    });
    const indexOf = (name: string) => d.users.get(name)!.policySet.identityIndex;
    expect(indexOf('ann')).toBeDefined();
    expect(indexOf('ben')).toBe(indexOf('ann'));
    // Another order of the same policies is another list: statement order is part of what an index names.
    expect(indexOf('cid')).not.toBe(indexOf('ann'));
    expect(indexOf('dee')).not.toBe(indexOf('ann'));
    const r = createPrincipalResolver(d);
    for (const name of ['ann', 'ben', 'cid', 'dee']) {
      const resolved = r.user({ ...AUTH, userName: name, mfa: false }, T0);
      if (!resolved.ok) throw new Error('unresolved');
      const p = resolved.principal;
      expect([decide(p, 'orders:GetOrder'), decide(p, 'orders:CreateOrder'), decide(p, 'orders:DescribeStore')], name).toEqual(['Allow', 'Allow', name === 'dee' ? 'Allow' : 'ImplicitDeny']);
    }
  });

  it('refuses unknown users and roles, bad session names and invalid session policies', () => {
    const r = createPrincipalResolver(directoryOf(doc()));
    expect(r.user({ ...AUTH, userName: 'mallory', mfa: false }, T0)).toEqual({ ok: false, reason: 'user_unknown' });
    const role = { ...AUTH, mfa: false, type: 'AssumedRole' as const, roleName: 'Admin', sessionName: 'ok-name' };
    expect(r.roleSession({ ...role, roleName: 'Ghost' }, T0)).toEqual({ ok: false, reason: 'role_unknown' });
    expect(r.roleSession({ ...role, sessionName: 'a/b' }, T0)).toEqual({ ok: false, reason: 'session_name_invalid' });
    expect(r.roleSession({ ...role, sessionPolicy: '{"Statement": 1}' }, T0)).toEqual({ ok: false, reason: 'session_policy_invalid' });
  });
});
