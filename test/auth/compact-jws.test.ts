// The one-spelling check of compact JWSs against obvious references: Node's own base64url encoder
// writes only canonical segments, and the member scan agrees with the policy reader's duplicate-key
// report on generated JSON, escaped names and nested objects included.
import fc from 'fast-check';
import { generateKeyPair, generateSecret, SignJWT, type CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { compactJwsProblem } from '../../src/auth/compact-jws.js';
import { ASYMMETRIC_ALGORITHMS } from '../../src/auth/keys/algorithms.js';
import { peek } from '../../src/auth/verify.js';
import { readJsonText } from '../../src/policy/index.js';

const FC_SEED = Number(process.env['FC_SEED'] ?? 20261207);
const FC_RUNS = Number(process.env['FC_RUNS'] ?? 300);

const segment = (text: string | Uint8Array): string => Buffer.from(text).toString('base64url');
const tokenOf = (header: string, payload: string, signature: Uint8Array = new Uint8Array([1, 2, 3, 4])): string => `${segment(header)}.${segment(payload)}.${segment(signature)}`;

/** JSON object texts, some with a member repeated (written plainly or with an escape) at some depth. */
const objectText: fc.Arbitrary<string> = fc.letrec<{ obj: string; value: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constantFrom('1', 'true', 'null', '"x"'), tie('obj'), fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`)),
  obj: fc
    .tuple(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'alg', 'sub', '__proto__'), tie('value')), { maxLength: 4 }), fc.constantFrom('none', 'plain', 'escaped'))
    .map(([members, repeat]) => {
      const written = members.map(([name, value]) => `${JSON.stringify(name)}:${value}`);
      const first = members[0];
      if (first !== undefined && repeat !== 'none') {
        const name = repeat === 'plain' ? JSON.stringify(first[0]) : `"\\u${first[0].charCodeAt(0).toString(16).padStart(4, '0')}${first[0].slice(1)}"`;
        written.push(`${name}:0`);
      }
      return `{${written.join(',')}}`;
    }),
})).obj;

describe('compactJwsProblem', () => {
  it('finds a repeated member exactly where the policy reader reports a duplicate key', () => {
    fc.assert(
      fc.property(objectText, (payload) => {
        const repeated = readJsonText(payload).duplicateKeys.length > 0;
        expect(compactJwsProblem(tokenOf('{"alg":"ES256"}', payload))).toBe(repeated ? 'the header or payload names a member twice' : undefined);
      }),
      { seed: FC_SEED, numRuns: FC_RUNS },
    );
  });

  it('accepts every segment Node’s encoder writes, and refuses each other spelling of its last character', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 70 }), (bytes) => {
        const token = tokenOf('{"alg":"ES256"}', '{"sub":"a"}', bytes);
        expect(compactJwsProblem(token)).toBeUndefined();
        const signature = segment(bytes);
        const decodesAlike = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_']
          .map((c) => signature.slice(0, -1) + c)
          .filter((other) => other !== signature && Buffer.from(other, 'base64url').equals(Buffer.from(bytes)));
        for (const other of decodesAlike) expect(compactJwsProblem(`${token.slice(0, token.lastIndexOf('.'))}.${other}`)).toBe('a segment is not canonical base64url');
      }),
      { seed: FC_SEED, numRuns: FC_RUNS },
    );
  });
});

describe('compactJwsProblem on tokens a standard issuer signs', () => {
  // Every algorithm iamgate verifies, and HS256, which it refuses later by its allow-list, never for its spelling.
  const algorithms = [...ASYMMETRIC_ALGORITHMS, 'HS256'] as const;
  const keys = new Map<string, CryptoKey | Uint8Array>();

  beforeAll(async () => {
    for (const alg of algorithms) keys.set(alg, alg === 'HS256' ? await generateSecret(alg) : (await generateKeyPair(alg)).privateKey);
  });

  /** Claims of any shape: names and values in any Unicode (astral planes included), nested JSON, the registered claims. */
  const claims = fc.record({
    custom: fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
    sub: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    iat: fc.integer({ min: 0, max: 2 ** 31 }),
  });
  const header = fc.record({ typ: fc.constantFrom('JWT', 'at+jwt', 'application/jwt'), cty: fc.option(fc.constantFrom('JWT', 'json', 'ünïcode'), { nil: undefined }), kid: fc.string({ unit: 'binary', maxLength: 30 }) });

  it.each(algorithms)('accepts every %s token jose’s SignJWT writes, whatever its claims and header', async (alg) => {
    const key = keys.get(alg)!;
    await fc.assert(
      fc.asyncProperty(claims, header, async ({ custom, sub, iat }, { typ, cty, kid }) => {
        const token = await new SignJWT({ ...custom, sub, iat, iss: 'https://idp.example' })
          .setProtectedHeader({ alg, typ, kid, ...(cty === undefined ? {} : { cty }) })
          .sign(key);
        expect(compactJwsProblem(token)).toBeUndefined();
        expect(peek(token)).toEqual({ ok: true, alg, kid, iss: 'https://idp.example' });
      }),
      { seed: FC_SEED, numRuns: Math.ceil(FC_RUNS / 6) },
    );
  });
});

describe('peek on the texts the spelling check read', () => {
  const signature = Buffer.from([1, 2, 3]).toString('base64url');
  const token = (header: string, payload: string): string => `${segment(header)}.${segment(payload)}.${signature}`;

  it('refuses a header or payload that is JSON but not an object as token_malformed', () => {
    for (const other of ['[]', '"x"', 'null', '7', '[{"alg":"ES256"}]']) {
      expect(peek(token(other, '{"iss":"https://idp.example"}'))).toMatchObject({ ok: false, code: 'token_malformed' });
      expect(peek(token('{"alg":"ES256"}', other))).toMatchObject({ ok: false, code: 'token_malformed' });
    }
  });

  it('reads a header and payload after a byte order mark as jose does, and finds a member they repeat', () => {
    expect(peek(token('\uFEFF{"alg":"ES256","kid":"k1"}', '\uFEFF{"iss":"https://idp.example"}'))).toEqual({ ok: true, alg: 'ES256', kid: 'k1', iss: 'https://idp.example' });
    expect(peek(token('\uFEFF{"alg":"ES256","alg":"none"}', '{"iss":"https://idp.example"}'))).toMatchObject({ ok: false, code: 'token_malformed' });
  });
});
