// Who may enrol an MFA device. A device turns a first factor into two, so enrolling one must take
// more than the first factor: both steps (mfa/enroll, mfa/confirm) are IAM actions on the caller's
// own user ARN, iamgate:EnrollMfa and iamgate:ConfirmMfa, decided by the caller's own policies with
// the call's keys, as iam:CreateVirtualMFADevice and iam:EnableMFADevice are in AWS. Real keys, real
// signatures, real TOTP codes.
import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { useAuthFixture } from './fixture.js';

const ACCOUNT = '111122223333';
const ENROL = (user: string, condition = ''): string => `
          - Sid: EnrolOwnDevice
            Effect: Allow
            Action: [iamgate:EnrollMfa, iamgate:ConfirmMfa]
            Resource: "arn:aws:iam::${ACCOUNT}:user/${user}"${condition}`;

/** erin may enrol; frank may not (no policy allows it); gina is mfaRequired and may; hank's boundary does not allow it. */
const directory = (erinStatement = ENROL('erin')): string => `
version: 1
account: "${ACCOUNT}"
policies:
  Narrow:
    document:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Action: "orders:*", Resource: "*" }
users:
  erin:
    inlinePolicies:
      Self:
        Version: "2012-10-17"
        Statement:${erinStatement}
  frank:
    inlinePolicies:
      Orders:
        Version: "2012-10-17"
        Statement:
          - { Effect: Allow, Action: "orders:*", Resource: "*" }
  gina:
    mfaRequired: true
    inlinePolicies:
      Self:
        Version: "2012-10-17"
        Statement:${ENROL('gina')}
  hank:
    boundary: Narrow
    inlinePolicies:
      Self:
        Version: "2012-10-17"
        Statement:${ENROL('hank')}
`;

describe('MFA enrolment is decided by the caller’s own policies', () => {
  const f = useAuthFixture({ directoryYaml: directory() });
  const code = (secret: string): Promise<string> => generate({ secret, epoch: Math.floor(f.clock.now() / 1000) });
  const recorded = (action: string, caller: string) => f.events.filter((e) => e.action === action && e.caller === `arn:aws:iam::${ACCOUNT}:user/${caller}`).at(-1);

  it('refuses a first-factor token whose policies do not allow iamgate:EnrollMfa (403 access_denied), records it, and so leaves it no way to pass MFA', async () => {
    const frank = await f.tokenFor('frank');
    const started = await f.post('/mfa/enroll', {}, frank);
    expect(started).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(started.body['SecretBase32']).toBeUndefined();
    expect(recorded('EnrollMfa', 'frank')).toMatchObject({ outcome: 'denied', code: 'caller_not_allowed' });
    expect((await f.post('/mfa/confirm', { TokenCode: '123456' }, frank)).body['error']).toBe('access_denied');
    expect(await f.runtime.totp!.isEnrolled(`arn:aws:iam::${ACCOUNT}:user/frank`)).toBe(false);
    expect((await f.post('/GetSessionToken', { TokenCode: '123456' }, frank)).body['error']).toBe('mfa_not_enrolled');
  });

  it('enrols a caller whose policies allow both actions, and never replaces its device afterwards (409), allowed or not', async () => {
    const erin = await f.tokenFor('erin');
    const started = await f.post('/mfa/enroll', {}, erin);
    expect(started.status).toBe(200);
    const secret = started.body['SecretBase32'] as string;
    expect(await f.post('/mfa/confirm', { TokenCode: await code(secret) }, erin)).toMatchObject({ status: 200, body: { Enrolled: true } });
    expect(recorded('ConfirmMfa', 'erin')).toMatchObject({ outcome: 'allowed' });
    expect(await f.post('/mfa/enroll', {}, erin)).toMatchObject({ status: 409, body: { error: 'mfa_already_enrolled' } });
    f.clock.advance(30_000);
    expect((await f.post('/GetSessionToken', { TokenCode: await code(secret) }, erin)).status).toBe(200);
  });

  it('lets an mfaRequired user enrol: the built-in force-MFA policy leaves both actions undenied, as AWS’s does', async () => {
    const gina = await f.tokenFor('gina');
    const started = await f.post('/mfa/enroll', {}, gina);
    expect(started.status).toBe(200);
    expect((await f.post('/mfa/confirm', { TokenCode: await code(started.body['SecretBase32'] as string) }, gina)).status).toBe(200);
  });

  it('refuses a caller whose permissions boundary does not allow enrolment', async () => {
    const hank = await f.tokenFor('hank');
    expect(await f.post('/mfa/enroll', {}, hank)).toMatchObject({ status: 403, body: { error: 'access_denied' } });
  });

  /** The directory with one more user, `name`, whose own policy has `statement`. */
  const withUser = (name: string, statement: string): string =>
    directory().replace('  frank:', `  ${name}:\n    inlinePolicies:\n      Self:\n        Version: "2012-10-17"\n        Statement:${statement}\n  frank:`);

  it('decides the confirmation anew: enrolment closed between the two steps refuses the confirmation and enrols nothing', async () => {
    await f.useDirectory(withUser('ivy', ENROL('ivy')));
    const ivy = await f.tokenFor('ivy');
    const started = await f.post('/mfa/enroll', {}, ivy);
    expect(started.status).toBe(200);
    await f.useDirectory(withUser('ivy', ENROL('ivy').replace('Allow', 'Deny')));
    const confirmed = await f.post('/mfa/confirm', { TokenCode: await code(started.body['SecretBase32'] as string) }, ivy);
    expect(confirmed).toMatchObject({ status: 403, body: { error: 'access_denied' } });
    expect(await f.runtime.totp!.isEnrolled(`arn:aws:iam::${ACCOUNT}:user/ivy`)).toBe(false);
  });

  it('reads the call’s time: an enrolment window allows the caller while open and refuses it once closed', async () => {
    const window = (until: number): string => ENROL('jo', `\n            Condition: { DateLessThan: { "aws:CurrentTime": "${new Date(until).toISOString()}" } }`);
    await f.useDirectory(withUser('jo', window(f.clock.now() + 60_000)));
    const jo = await f.tokenFor('jo');
    expect((await f.post('/mfa/enroll', {}, jo)).status).toBe(200);
    f.clock.advance(120_000);
    expect(await f.post('/mfa/enroll', {}, await f.tokenFor('jo'))).toMatchObject({ status: 403, body: { error: 'access_denied' } });
  });
});
