// The one-spelling check of compact JWSs against obvious references: Node's own base64url encoder
// writes only canonical segments, and the member scan agrees with the policy reader's duplicate-key
// report on generated JSON, escaped names and nested objects included.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactJwsProblem } from '../../src/auth/compact-jws.js';
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
