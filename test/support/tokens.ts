// Real ES256 tokens for gateway tests, and a small real verifier (jose) that resolves their `sub`
// to a directory user — the shape of iamgate's authenticator, with nothing mocked.
import { SignJWT, errors, exportJWK, generateKeyPair, jwtVerify, type CryptoKey, type JWK } from 'jose';
import type { Authenticator, AuthOutcome } from '../../src/gateway/index.js';
import { bearerChallenge } from '../../src/auth/authenticators/index.js';
import type { PrincipalResolver } from '../../src/identity/index.js';

export const TEST_ISSUER = 'https://idp.test.iamgate';
export const TEST_AUDIENCE = 'iamgate';

export interface TestKeys {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
  /** Signs a token for a directory user; `mfa` adds `amr: ["pwd","mfa"]`. */
  token(user: string, opts?: { mfa?: boolean; ttlSeconds?: number; now?: number }): Promise<string>;
}

export async function createTestKeys(): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    privateKey,
    publicKey,
    publicJwk: await exportJWK(publicKey),
    async token(user, opts = {}) {
      const now = Math.floor((opts.now ?? Date.now()) / 1000);
      return new SignJWT({ amr: opts.mfa ? ['pwd', 'mfa'] : ['pwd'] })
        .setProtectedHeader({ alg: 'ES256', kid: 'test-1' })
        .setSubject(user)
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + (opts.ttlSeconds ?? 300))
        .sign(privateKey);
    },
  };
}

function fail(code: string, message: string): AuthOutcome {
  return { ok: false, code, status: 401, message };
}

/** Verifies bearer tokens signed by `keys` and resolves `sub` as a directory user name. */
export function testAuthenticator(keys: TestKeys, resolver: PrincipalResolver, now: () => number = Date.now): Authenticator {
  return {
    challenge: bearerChallenge,
    async authenticate({ authorization }) {
      if (authorization === undefined) return fail('token_missing', 'A bearer token is required');
      const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization);
      if (!m) return fail('token_malformed', 'The token is malformed');
      try {
        const { payload } = await jwtVerify(m[1]!, keys.publicKey, { issuer: TEST_ISSUER, audience: TEST_AUDIENCE, algorithms: ['ES256'] });
        const amr = Array.isArray(payload['amr']) ? payload['amr'].filter((x): x is string => typeof x === 'string') : [];
        const mfa = amr.includes('mfa');
        const issuedAt = (payload.iat ?? 0) * 1000;
        const r = resolver.user(
          { userName: payload.sub ?? '', issuer: TEST_ISSUER, issuedAt, expiresAt: (payload.exp ?? 0) * 1000, mfa, ...(mfa ? { mfaAt: issuedAt } : {}), authMethods: amr },
          now(),
        );
        return r.ok ? { ok: true, principal: r.principal } : fail('principal_unknown', 'The caller is not a known principal');
      } catch (err) {
        if (err instanceof errors.JWTExpired) return fail('token_expired', 'The token has expired');
        return fail('token_signature_invalid', 'The token signature is invalid');
      }
    },
  };
}
