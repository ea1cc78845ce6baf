// The assertion issuer and its configuration: every supported algorithm verifies with jose against
// the published keys, role sessions carry their role and session, and bad settings are refused at load.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createAssertionIssuer, readAssertionConfig } from '../../src/assertion/index.js';
import { generatePrivateJwk } from '../../src/auth/keys/file.js';
import { createSigningKeyRing } from '../../src/auth/keys/signing.js';
import type { Principal } from '../../src/identity/index.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

/** A role session principal, as the resolver builds one (only the fields the issuer reads matter). */
const session = {
  arn: 'arn:aws:sts::111122223333:assumed-role/deployer/ci-42',
  type: 'AssumedRole',
  accountId: '111122223333',
  name: 'deployer',
  sessionName: 'ci-42',
  roleArn: 'arn:aws:iam::111122223333:role/deployer',
  mfa: true,
  context: { 'aws:PrincipalTag/env': 'prod', 'aws:PrincipalArn': 'arn:aws:iam::111122223333:role/deployer' },
} as unknown as Principal;

async function issuerWith(alg: 'EdDSA' | 'ES256') {
  const ring = await createSigningKeyRing([{ jwk: await generatePrivateJwk(alg), activeFrom: 0 }], () => NOW);
  return createAssertionIssuer({ ring, header: 'x-iamgate-assertion', audience: 'svc', issuer: 'iamgate', ttlSeconds: 60, now: () => NOW });
}

describe('an assertion', () => {
  for (const alg of ['EdDSA', 'ES256'] as const) {
    it(`signed with ${alg} verifies against the issuer's JWKS, with the role session's claims`, async () => {
      const issuer = await issuerWith(alg);
      const token = issuer.issue(session, 'req-1');
      expect(decodeProtectedHeader(token)).toMatchObject({ alg, typ: 'JWT', kid: issuer.jwks().keys[0]?.kid });
      const { payload } = await jwtVerify(token, createLocalJWKSet(issuer.jwks()), { audience: 'svc', issuer: 'iamgate', currentDate: new Date(NOW) });
      expect(payload).toEqual({
        iss: 'iamgate',
        aud: 'svc',
        sub: session.arn,
        account: '111122223333',
        principalType: 'AssumedRole',
        role: 'arn:aws:iam::111122223333:role/deployer',
        session: 'ci-42',
        groups: [],
        tags: { env: 'prod' },
        mfa: true,
        jti: 'req-1',
        iat: NOW / 1000,
        exp: NOW / 1000 + 60,
      });
    });
  }

  it('does not verify once expired, nor for another audience', async () => {
    const issuer = await issuerWith('EdDSA');
    const keys = createLocalJWKSet(issuer.jwks());
    const token = issuer.issue(session, 'req-2');
    await expect(jwtVerify(token, keys, { audience: 'svc', currentDate: new Date(NOW + 61_000) })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
    await expect(jwtVerify(token, keys, { audience: 'other', currentDate: new Date(NOW) })).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  });
});

describe('the assertion section', () => {
  const problems = (raw: unknown, development = true) => readAssertionConfig(raw, { development }).findings.map((f) => f.path);

  it('is off when absent, and defaults header, issuer, lifetime and algorithm', () => {
    expect(readAssertionConfig(undefined, { development: false })).toEqual({ findings: [] });
    expect(readAssertionConfig({ audience: 'svc' }, { development: true }).config).toMatchObject({ header: 'x-iamgate-assertion', issuer: 'iamgate', ttlSeconds: 60, algorithm: 'EdDSA' });
  });

  it('refuses a missing audience, a header the proxy owns or with _, a long lifetime, and no key file in production', () => {
    expect(problems({})).toEqual(['assertion.audience']);
    expect(problems({ audience: 'svc', header: 'Authorization' })).toEqual(['assertion.header']);
    expect(problems({ audience: 'svc', header: 'X_Identity' })).toEqual(['assertion.header']);
    expect(problems({ audience: 'svc', ttlSeconds: 3600 })).toEqual(['assertion.ttlSeconds']);
    expect(problems({ audience: 'svc' }, false)).toEqual(['assertion.signingKeyFile']);
    expect(problems({ audience: 'svc', signingKeyFile: 'k.json' }, false)).toEqual([]);
  });
});
