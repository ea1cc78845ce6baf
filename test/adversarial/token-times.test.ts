// The registered claims at their edges, with no clock tolerance and a clock the test sets: `exp` at
// the current second is expired and one second later is not; `nbf` one second ahead is not yet
// valid; `exp`, `nbf` and `iat` of other JSON types; `iss` and `aud` of other shapes. Each refusal a
// 401 with its stable code and one audit record, the upstream never reached.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDP_ISSUER, startIdp, type Idp } from './support/idp.js';
import { callWithBearer, startRealGateway, type BearerAnswer, type RealGateway } from './support/real-gateway.js';

describe('registered claims at their edges', () => {
  // Half a second into a second, so that "now" in whole seconds is unambiguous.
  let nowMs = Math.floor(Date.now() / 1000) * 1000 + 500;
  const nowSeconds = (): number => Math.floor(nowMs / 1000);
  let idp: Idp;
  let gw: RealGateway;

  beforeAll(async () => {
    idp = await startIdp();
    gw = await startRealGateway({ issuers: [idp.issuerConfig({ clockToleranceSeconds: 0 })], now: () => nowMs });
  });

  afterAll(async () => {
    await gw?.close();
    await idp?.close();
  });

  const call = async (payload: Record<string, unknown>): Promise<BearerAnswer> => callWithBearer(gw, await idp.token(payload));

  const claims = (extra: Record<string, unknown>): Record<string, unknown> => ({ ...idp.claims('alice', nowMs), ...extra });
  const refused = (code: string) => ({ status: 401, code, records: 1, forwarded: 0 });
  const accepted = { status: 200, code: undefined, records: 1, forwarded: 1 };

  it('refuses exp at the current second and accepts exp one second later', async () => {
    expect(await call(claims({ exp: nowSeconds() }))).toEqual(refused('token_expired'));
    expect(await call(claims({ exp: nowSeconds() + 1 }))).toEqual(accepted);
  });

  it('refuses nbf one second ahead and accepts nbf at the current second', async () => {
    expect(await call(claims({ nbf: nowSeconds() + 1 }))).toEqual(refused('token_not_yet_valid'));
    expect(await call(claims({ nbf: nowSeconds() }))).toEqual(accepted);
  });

  it('refuses a token the moment the clock reaches its exp', async () => {
    const token = claims({ exp: nowSeconds() + 2 });
    expect(await call(token)).toEqual(accepted);
    nowMs += 2000;
    try {
      expect(await call(token)).toEqual(refused('token_expired'));
    } finally {
      nowMs -= 2000;
    }
  });

  it.each<readonly [string, unknown]>([
    ['a string', '4102444800'],
    ['true', true],
    ['null', null],
    ['a list', [4102444800]],
    ['an object', { seconds: 4102444800 }],
  ])('refuses exp, nbf or iat given as %s', async (_name, value) => {
    for (const claim of ['exp', 'nbf', 'iat']) expect((await call(claims({ [claim]: value }))).status).toBe(401);
    expect(await call(claims({ exp: value }))).toEqual(refused('token_claim_invalid'));
  });

  it('refuses a negative exp as expired', async () => {
    expect(await call(claims({ exp: -1 }))).toEqual(refused('token_expired'));
  });

  it.each<readonly [string, unknown, string]>([
    ['iss as a list holding the issuer', [IDP_ISSUER], 'token_claim_missing'],
    ['iss as a number', 7, 'token_claim_missing'],
  ])('refuses %s', async (_name, iss, code) => {
    expect(await call(claims({ iss }))).toEqual(refused(code));
  });

  it.each<readonly [string, unknown]>([
    ['aud as a number', 7],
    ['aud as an object', { iamgate: true }],
    ['aud as a list of a list', [['iamgate']]],
    ['aud as an empty list', []],
  ])('refuses %s as token_audience_invalid', async (_name, aud) => {
    expect(await call(claims({ aud }))).toEqual(refused('token_audience_invalid'));
  });

  it('accepts aud as a list that holds iamgate among others', async () => {
    expect(await call(claims({ aud: ['orders-api', 'iamgate'] }))).toEqual(accepted);
  });
});
