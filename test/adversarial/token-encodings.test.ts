// One token, one spelling. A compact JWS whose segments decode to the same bytes in more than one
// way — a last base64url character with bits set that carry no data, so one signature has sixteen
// spellings — or whose header or payload names a member twice (JSON.parse keeps the last, other
// readers the first) is refused as token_malformed, though the identity provider really signed it:
// with one answer, one audit record and nothing of the token in the trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDP_KID, startIdp, type Idp } from './support/idp.js';
import { callWithBearer, startRealGateway, type BearerAnswer, type RealGateway } from './support/real-gateway.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Signs the header and payload texts exactly as written (repeated members and all). */
async function signTexts(idp: Idp, header: string, payload: string): Promise<string> {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, idp.key.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

/** The other spellings of a segment's last character: the same data bits, other unused bits. */
function otherSpellings(segment: string): string[] {
  const unusedBits = segment.length % 4 === 2 ? 0b1111 : 0b11;
  const last = ALPHABET.indexOf(segment.at(-1)!);
  const spellings: string[] = [];
  for (let bits = 1; bits <= unusedBits; bits++) if ((bits & unusedBits) === bits) spellings.push(segment.slice(0, -1) + ALPHABET[(last & ~unusedBits) | bits]);
  return spellings;
}

describe('tokens with more than one spelling', () => {
  let idp: Idp;
  let gw: RealGateway;

  beforeAll(async () => {
    idp = await startIdp();
    gw = await startRealGateway({ issuers: [idp.issuerConfig()] });
  });

  afterAll(async () => {
    await gw?.close();
    await idp?.close();
  });

  const claims = (): Record<string, unknown> => idp.claims('alice', Date.now());

  const call = (token: string): Promise<BearerAnswer> => callWithBearer(gw, token);

  const refused = { status: 401, code: 'token_malformed', records: 1, forwarded: 0 };

  it('accepts the signature in its one canonical spelling', async () => {
    expect((await call(await idp.token(claims()))).status).toBe(200);
  });

  it('refuses each of the signature’s other spellings, which decode to the same bytes', async () => {
    const token = await idp.token(claims());
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const spellings = otherSpellings(signature);
    expect(spellings).toHaveLength(15);
    for (const spelt of spellings) expect(await call(`${header}.${payload}.${spelt}`)).toEqual(refused);
    const trail = JSON.stringify(gw.audit.events);
    for (const spelt of spellings) expect(trail).not.toContain(spelt);
  });

  it.each([
    ['alg, none last', `{"alg":"ES256","kid":"${IDP_KID}","alg":"none"}`],
    ['alg, ES256 last', `{"alg":"none","kid":"${IDP_KID}","alg":"ES256"}`],
    ['kid', `{"alg":"ES256","kid":"other","kid":"${IDP_KID}"}`],
    ['alg, the second spelt with an escape', `{"alg":"ES256","kid":"${IDP_KID}","al\\u0067":"none"}`],
  ])('refuses a header that names %s twice, signed by the identity provider', async (_name, header) => {
    expect(await call(await signTexts(idp, header, JSON.stringify(claims())))).toEqual(refused);
  });

  it.each(['sub', 'aud', 'exp'])('refuses a payload that names %s twice, signed by the identity provider', async (member) => {
    const c = claims();
    const payload = `${JSON.stringify(c).slice(0, -1)},${JSON.stringify(member)}:${JSON.stringify(c[member])}}`;
    expect(await call(await signTexts(idp, `{"alg":"ES256","kid":"${IDP_KID}"}`, payload))).toEqual(refused);
  });

  it('accepts a payload whose nested objects and arrays reuse names their parents use', async () => {
    const payload = JSON.stringify({ ...claims(), ext: { sub: 'x', aud: [{ sub: 'y' }, { sub: 'z' }] }, list: ['sub', 'sub'] });
    expect((await call(await signTexts(idp, `{"alg":"ES256","kid":"${IDP_KID}"}`, payload))).status).toBe(200);
  });

  it('refuses a member repeated inside a nested object of the payload', async () => {
    const payload = JSON.stringify(claims()).slice(0, -1) + ',"ext":{"role":"reader","role":"admin"}}';
    expect(await call(await signTexts(idp, `{"alg":"ES256","kid":"${IDP_KID}"}`, payload))).toEqual(refused);
  });
});
