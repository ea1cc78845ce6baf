// The right TOTP code in other spellings, through the STS: other Unicode digits (fullwidth,
// Arabic-Indic, Devanagari), spaces inside or around it, its leading zero dropped or one added, and
// the code as a JSON number. Only the six ASCII digits count: every other spelling is a failed
// attempt (counted toward the lockout) or a malformed call, never a session.
import { generate } from 'otplib';
import { afterEach, describe, expect, it } from 'vitest';
import { startAuthFixture, type AuthFixture } from '../auth/fixture.js';

/** The code's digits moved to another Unicode digit block (`zero` its 0). */
const inDigits = (code: string, zero: number): string => [...code].map((d) => String.fromCodePoint(zero + Number(d))).join('');

describe('the right TOTP code in another spelling', () => {
  let f: AuthFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  /** A fixture with carol enrolled, her token, and the code of the current step on the test clock. */
  async function enrolled(): Promise<{ fixture: AuthFixture; carol: string; code: () => Promise<string> }> {
    const fixture = await startAuthFixture();
    f = fixture;
    const carol = await fixture.tokenFor('carol');
    const started = await fixture.post('/mfa/enroll', {}, carol);
    const secret = started.body['SecretBase32'] as string;
    const code = (): Promise<string> => generate({ secret, epoch: Math.floor(fixture.clock.now() / 1000) });
    expect((await fixture.post('/mfa/confirm', { TokenCode: await code() }, carol)).status).toBe(200);
    fixture.clock.advance(60_000);
    return { fixture, carol, code };
  }

  it.each<readonly [string, (code: string) => string]>([
    ['in fullwidth digits', (c) => inDigits(c, 0xff10)],
    ['in Arabic-Indic digits', (c) => inDigits(c, 0x0660)],
    ['in Devanagari digits', (c) => inDigits(c, 0x0966)],
    ['with a space inside', (c) => `${c.slice(0, 3)} ${c.slice(3)}`],
    ['with a space before', (c) => ` ${c}`],
    ['with a newline after', (c) => `${c}\n`],
    ['with a zero in front', (c) => `0${c}`],
    ['with a sign in front', (c) => `+${c}`],
  ])('is a failed attempt when written %s, and the plain code still works after it', async (_name, spell) => {
    const { fixture, carol, code } = await enrolled();
    expect(await fixture.post('/GetSessionToken', { TokenCode: spell(await code()) }, carol)).toMatchObject({ status: 403, body: { error: 'mfa_code_invalid' } });
    expect((await fixture.post('/GetSessionToken', { TokenCode: await code() }, carol)).status).toBe(200);
  });

  it('is a failed attempt with its leading zero dropped', async () => {
    const { fixture, carol, code } = await enrolled();
    // Move the test clock step by step to one whose code starts with 0 (one step in ten, on average).
    for (let step = 0; step < 500 && !(await code()).startsWith('0'); step++) fixture.clock.advance(30_000);
    const right = await code();
    expect(right.startsWith('0')).toBe(true);
    expect(await fixture.post('/GetSessionToken', { TokenCode: right.slice(1) }, carol)).toMatchObject({ status: 403, body: { error: 'mfa_code_invalid' } });
    expect((await fixture.post('/GetSessionToken', { TokenCode: right }, carol)).status).toBe(200);
  });

  it('is refused as a JSON number', async () => {
    const { fixture, carol, code } = await enrolled();
    expect(await fixture.post('/GetSessionToken', { TokenCode: Number(`1${await code()}`) }, carol)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('counts each spelling toward the lockout, which then refuses the plain code too', async () => {
    const { fixture, carol, code } = await enrolled();
    const right = await code();
    // The fixture's auth.mfa.maxFailures is 3.
    const statuses: number[] = [];
    for (const spelled of [inDigits(right, 0xff10), ` ${right}`, `0${right}`]) statuses.push((await fixture.post('/GetSessionToken', { TokenCode: spelled }, carol)).status);
    // The attempt that reaches the limit is answered with the lockout.
    expect(statuses).toEqual([403, 403, 429]);
    expect(await fixture.post('/GetSessionToken', { TokenCode: right }, carol)).toMatchObject({ status: 429, body: { error: 'mfa_locked' } });
  });
});
