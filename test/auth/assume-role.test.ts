// AssumeRole's rules on a directory built for them: the trust policy must allow, and grants on its
// own when it names the caller (test/auth/trust-semantics.test.ts has the full set of cases),
// durations are capped by the role and by role chaining, session tags need sts:TagSession and
// become principal tags.
import { describe, expect, it } from 'vitest';
import { sessionToken, useAuthFixture } from './fixture.js';
import { answerOf } from './helpers.js';

const DIRECTORY = `
account: "111122223333"
policies:
  AssumeAnything:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: ["sts:AssumeRole", "sts:TagSession"], Resource: "*" }]
  DenyAssumeAdmin:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Deny, Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/Open" }]
  AssumeWithMfa:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: "sts:AssumeRole", Resource: "*", Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } }]
  Reader:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: "orders:GetOrder", Resource: "*" }]
users:
  dave: { policies: [AssumeAnything] }
  erin: {}
  frank: { policies: [AssumeAnything, DenyAssumeAdmin] }
  gina: { policies: [AssumeWithMfa] }
roles:
  OnlyErin:
    policies: [Reader]
    trustPolicy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { AWS: "arn:aws:iam::111122223333:user/erin" }, Action: sts:AssumeRole }]
  NeedsMfa:
    policies: [Reader]
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Principal: { AWS: "111122223333" }, Action: sts:AssumeRole, Condition: { Bool: { "aws:MultiFactorAuthPresent": "true" } } }
  Open:
    maxSessionDuration: 7200
    tags: { team: platform, tier: gold }
    policies: [Reader, AssumeAnything]
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Principal: { AWS: "111122223333" }, Action: ["sts:AssumeRole", "sts:TagSession"] }
`;

const ROLE = (name: string): string => `arn:aws:iam::111122223333:role/${name}`;

describe('AssumeRole rules', () => {
  const f = useAuthFixture({ directoryYaml: DIRECTORY });

  const assume = async (user: string, body: Record<string, unknown>, token?: string) =>
    f.post('/AssumeRole', { RoleSessionName: 'test-session', ...body }, token ?? (await f.tokenFor(user)));
  const expiresIn = (body: Record<string, unknown>): number =>
    Date.parse((body['Credentials'] as { Expiration: string }).Expiration) - Math.floor(f.clock.now() / 1000) * 1000;

  it('denies a caller whose policies allow it when the trust policy does not trust it, recording why', async () => {
    expect(await assume('dave', { RoleArn: ROLE('OnlyErin') })).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(f.events.at(-1)).toMatchObject({ action: 'AssumeRole', outcome: 'denied', code: 'trust_policy_denied' });
  });

  it('lets a caller the trust policy names assume the role though its own policies lack sts:AssumeRole', async () => {
    expect((await assume('erin', { RoleArn: ROLE('OnlyErin') })).status).toBe(200);
  });

  it('denies a caller whose policies explicitly deny assuming the role, recording why', async () => {
    expect(await assume('frank', { RoleArn: ROLE('Open') })).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(f.events.at(-1)).toMatchObject({ action: 'AssumeRole', outcome: 'denied', code: 'caller_not_allowed' });
  });

  // AWS answers all three with one AccessDenied: a caller that could tell them apart would learn
  // which roles exist and which of them trust it (a trust policy naming the account trusts every user in it).
  it('answers a role that does not trust the caller, one its own policies deny, and one that does not exist alike, and records each reason', async () => {
    const untrusted = await assume('dave', { RoleArn: ROLE('OnlyErin') });
    const denied = await assume('frank', { RoleArn: ROLE('Open') });
    const missing = await assume('frank', { RoleArn: ROLE('NoSuchRole') });
    expect(answerOf(denied)).toEqual(answerOf(untrusted));
    expect(answerOf(missing)).toEqual(answerOf(untrusted));
    expect(f.events.slice(-3).map((e) => e.code)).toEqual(['trust_policy_denied', 'caller_not_allowed', 'role_unknown']);
  });

  it('allows a caller both sides allow, capping the duration at the role maximum', async () => {
    const res = await assume('dave', { RoleArn: ROLE('Open'), DurationSeconds: 43_200 });
    expect(res.status).toBe(200);
    expect(expiresIn(res.body)).toBe(7200_000);
  });

  it('caps a chained role session at one hour', async () => {
    const first = await assume('dave', { RoleArn: ROLE('Open'), DurationSeconds: 7200 });
    const chained = await assume('dave', { RoleArn: ROLE('Open'), DurationSeconds: 7200, RoleSessionName: 'chained' }, sessionToken(first.body));
    expect(chained.status).toBe(200);
    expect(expiresIn(chained.body)).toBe(3600_000);
  });

  it('turns session tags into principal tags over the role tags', async () => {
    const res = await assume('dave', { RoleArn: ROLE('Open'), Tags: [{ Key: 'team', Value: 'orders' }] });
    expect(res.status).toBe(200);
    const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${sessionToken(res.body)}` });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.principal.context['aws:PrincipalTag/team']).toBe('orders');
    expect(outcome.principal.context['aws:PrincipalTag/tier']).toBe('gold');
  });

  it('refuses malformed tags and session names', async () => {
    expect(await assume('dave', { RoleArn: ROLE('Open'), Tags: [{ Key: 'aws:team', Value: 'x' }] })).toMatchObject({ status: 400, body: { error: 'invalid_tags' } });
    expect(await assume('dave', { RoleArn: ROLE('Open'), RoleSessionName: 'has space' })).toMatchObject({ status: 400, body: { error: 'invalid_session_name' } });
    expect(await assume('dave', { RoleArn: ROLE('Open'), Extra: 1 })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('answers a role that does not exist exactly as one that does not trust the caller, whatever else the call gets wrong', async () => {
    const wrongs: Record<string, unknown>[] = [
      {},
      { Policy: { Statement: [{ Effect: 'Permit', Action: '*', Resource: '*' }] } },
      { Policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: 'x'.repeat(3000) }] } },
      { TokenCode: '123456' },
      { TokenCode: 'not-a-code' },
    ];
    for (const wrong of wrongs) {
      const existing = await assume('dave', { RoleArn: ROLE('OnlyErin'), ...wrong });
      const missing = await assume('dave', { RoleArn: ROLE('NoSuchRole'), ...wrong });
      expect(answerOf(missing)).toEqual(answerOf(existing));
    }
  });

  // Else a caller whose own policies ask for MFA on every role would learn, from mfa_required,
  // every role that exists, including those whose trust policies will never admit it.
  it('answers mfa_required only where a second factor would let the call through, not for a role that does not trust the caller or does not exist', async () => {
    expect(await assume('gina', { RoleArn: ROLE('Open') })).toMatchObject({ status: 403, body: { error: 'mfa_required' } });
    const untrusted = await assume('gina', { RoleArn: ROLE('OnlyErin') });
    const missing = await assume('gina', { RoleArn: ROLE('NoSuchRole') });
    expect(untrusted).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(answerOf(missing)).toEqual(answerOf(untrusted));
    expect(f.events.slice(-2).map((e) => e.code)).toEqual(['trust_policy_denied', 'role_unknown']);
  });

  // A role session cannot send TokenCode (caller_not_user): mfa_required, which tells the caller to
  // send one, would ask it for what it cannot give.
  it('tells a user, not a role session, that a second factor would let its call through, and records why the session was refused', async () => {
    expect(await assume('dave', { RoleArn: ROLE('NeedsMfa') })).toMatchObject({ status: 403, body: { error: 'mfa_required' } });
    const session = sessionToken((await assume('dave', { RoleArn: ROLE('Open') })).body);
    const fromSession = await assume('dave', { RoleArn: ROLE('NeedsMfa'), RoleSessionName: 'chained' }, session);
    const untrusted = await assume('dave', { RoleArn: ROLE('OnlyErin'), RoleSessionName: 'chained' }, session);
    expect(fromSession).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(answerOf(fromSession)).toEqual(answerOf(untrusted));
    expect(f.events.slice(-2).map((e) => e.code)).toEqual(['session_without_mfa', 'trust_policy_denied']);
  });

  // Decided with fewer or other evaluations, an unknown role would be answered sooner than a role
  // that does not trust the caller, measurably so over a few hundred calls: it is decided as a role
  // whose trust policy trusts no one, through the same decisions, and its record differs only in why.
  it('decides a role that does not exist as one that trusts no one, whoever calls and with whatever tags', async () => {
    const recordOf = ({ code, target, requestId, ...rest }: (typeof f.events)[number]) => rest;
    for (const user of ['dave', 'erin', 'frank', 'gina']) {
      for (const extra of [{}, { Tags: [{ Key: 'team', Value: 'orders' }] }]) {
        await assume(user, { RoleArn: ROLE('OnlyErin'), ...extra });
        const untrusted = f.events.at(-1)!;
        await assume(user, { RoleArn: ROLE('NoSuchRole'), ...extra });
        const missing = f.events.at(-1)!;
        if (user === 'erin') continue; // OnlyErin trusts erin
        expect([untrusted.code, missing.code]).toEqual(['trust_policy_denied', 'role_unknown']);
        expect(recordOf(missing)).toEqual(recordOf(untrusted));
      }
    }
  });

  it('refuses GetSessionToken and MFA enrolment to role sessions', async () => {
    const session = sessionToken((await assume('dave', { RoleArn: ROLE('Open') })).body);
    expect(await f.post('/GetSessionToken', { TokenCode: '123456' }, session)).toMatchObject({ status: 403, body: { error: 'caller_not_user' } });
    expect(await f.post('/mfa/enroll', {}, session)).toMatchObject({ status: 403, body: { error: 'caller_not_user' } });
  });
});
