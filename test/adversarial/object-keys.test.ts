// Names from outside that JavaScript objects already hold: `__proto__`, `constructor`, `prototype`,
// `toString`, `hasOwnProperty`, `valueOf` as tag keys (in the directory, as STS session tags, as
// tags an identity provider's claims assert), as key types in a JWKS, as condition keys and policy
// variables. Each is an ordinary name: a decision about it is the decision about `team`, nothing
// is dropped, nothing crashes, no prototype changes.
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { principalFromToken } from '../../src/auth/claims.js';
import { parseJwkSet } from '../../src/auth/keys/jwk.js';
import { createPrincipalResolver, loadDirectory } from '../../src/identity/index.js';
import { compilePolicy, createContext, evaluate, parsePolicy } from '../../src/policy/index.js';
import { sessionToken, startAuthFixture, type AuthFixture } from '../auth/fixture.js';
import { authConfig, decide, makeKey } from '../auth/helpers.js';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FC_SEED = Number(process.env['FC_SEED'] ?? 20261207);
const FC_RUNS = Number(process.env['FC_RUNS'] ?? 60);

/** Names every plain object answers to, and one it does not (the baseline). */
const OBJECT_MEMBER_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'] as const;
const NAMES = ['team', ...OBJECT_MEMBER_NAMES] as const;

const ACCOUNT = '111122223333';
const ORDER = `arn:aws:orders:us-east-1:${ACCOUNT}:order/7`;

/**
 * A directory where the tag `name` decides: user `tagged` carries it with the value `blocked`, and
 * everyone's orders policy denies callers whose tag `name` is `blocked`; role `Tagged` may be
 * assumed with session tag `name` only.
 */
function directoryWithTag(name: string): string {
  const q = JSON.stringify;
  return `
account: "${ACCOUNT}"
policies:
  OrdersUnlessBlocked:
    document:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Action: ["orders:GetOrder", "sts:AssumeRole", "sts:TagSession"], Resource: "*" }
        - Effect: Deny
          Action: orders:GetOrder
          Resource: "*"
          Condition: { StringEquals: { ${q(`aws:PrincipalTag/${name}`)}: blocked } }
users:
  tagged: { policies: [OrdersUnlessBlocked], tags: { ${q(name)}: blocked } }
  plain: { policies: [OrdersUnlessBlocked] }
roles:
  Tagged:
    policies: [OrdersUnlessBlocked]
    trustPolicy:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Principal: { AWS: "${ACCOUNT}" }, Action: sts:AssumeRole }
        - Effect: Allow
          Principal: { AWS: "${ACCOUNT}" }
          Action: sts:TagSession
          Condition:
            StringEquals: { ${q(`aws:RequestTag/${name}`)}: blocked }
            ForAllValues:StringEquals: { "aws:TagKeys": [${q(name)}] }
`;
}

describe.each(NAMES)('a tag named %s', (name) => {
  let f: AuthFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('held by a directory user is read as the user’s tag, so a Deny written on it applies', async () => {
    f = await startAuthFixture({ directoryYaml: directoryWithTag(name) });
    const tagged = f.resolver.user({ issuer: 'x', issuedAt: Date.now(), expiresAt: Date.now() + 60_000, mfa: false, authMethods: [], userName: 'tagged' }, Date.now());
    const plain = f.resolver.user({ issuer: 'x', issuedAt: Date.now(), expiresAt: Date.now() + 60_000, mfa: false, authMethods: [], userName: 'plain' }, Date.now());
    if (!tagged.ok || !plain.ok) throw new Error('the directory users do not resolve');
    expect(tagged.principal.context[`aws:PrincipalTag/${name}`]).toBe('blocked');
    expect([decide(tagged.principal, 'orders:GetOrder', ORDER), decide(plain.principal, 'orders:GetOrder', ORDER)]).toEqual(['ExplicitDeny', 'Allow']);
  });

  it('given as an STS session tag reaches the trust policy and the session, so a Deny written on it applies', async () => {
    f = await startAuthFixture({ directoryYaml: directoryWithTag(name) });
    const res = await f.post(
      '/AssumeRole',
      { RoleArn: `arn:aws:iam::${ACCOUNT}:role/Tagged`, RoleSessionName: 's1', Tags: [{ Key: name, Value: 'blocked' }] },
      await f.tokenFor('plain'),
    );
    expect(res.status).toBe(200);
    const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${sessionToken(res.body)}` });
    if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
    expect(outcome.principal.context[`aws:PrincipalTag/${name}`]).toBe('blocked');
    expect(decide(outcome.principal, 'orders:GetOrder', ORDER)).toBe('ExplicitDeny');
  });
});

describe('tags an identity provider asserts through claims', () => {
  let dir = '';
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it.each(NAMES)('map a claim to the tag %s as to any other name', async (name) => {
    dir ||= await mkdtemp(join(tmpdir(), 'iamgate-keys-'));
    const file = join(dir, 'directory.yaml');
    await writeFile(file, directoryWithTag(name));
    const { directory } = await loadDirectory(file);
    if (!directory) throw new Error('the directory does not load');
    const config = authConfig({
      issuers: [{ name: 'people', issuer: 'https://people.test', audiences: ['iamgate'], algorithms: ['ES256'], keyFile: 'people.jwk', claims: { user: 'sub', tags: { [name]: 'dept' } } }],
    });
    const issuer = config.issuers[0]!;
    const now = Date.now();
    const payload = { sub: 'plain', dept: 'blocked', iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 60 };
    const outcome = principalFromToken(issuer.issuer, { kind: 'user', claims: issuer.claims }, payload, createPrincipalResolver(directory), now, 0);
    if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
    expect(outcome.principal.context[`aws:PrincipalTag/${name}`]).toBe('blocked');
    expect(decide(outcome.principal, 'orders:GetOrder', ORDER)).toBe('ExplicitDeny');
  });
});

describe('a JWKS holding keys of made-up types', () => {
  it.each(OBJECT_MEMBER_NAMES)('skips a key of type %s and keeps the others', async (kty) => {
    const key = await makeKey('k1');
    expect(parseJwkSet({ keys: [{ kty, kid: 'odd', n: 'x', e: 'AQAB', crv: 'P-256', x: 'x', y: 'y' }, key.publicJwk] }).map((k) => k.kid)).toEqual(['k1']);
  });
});

describe('condition keys and policy variables named like object members', () => {
  const policyReading = (key: string) =>
    parsePolicy(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'orders:GetOrder', Resource: `arn:aws:orders:us-east-1:${ACCOUNT}:order/\${${key}}` },
          { Effect: 'Deny', Action: 'orders:GetOrder', Resource: '*', Condition: { StringEquals: { [key]: 'blocked' } } },
        ],
      }),
    );

  it('decide as the same policy and context with an ordinary key name, and leave Object.prototype alone', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OBJECT_MEMBER_NAMES), fc.constantFrom('app:', 'aws:PrincipalTag/', 'aws:RequestTag/'), fc.constantFrom('7', 'blocked', undefined), (member, prefix, value) => {
        const decideWith = (key: string) => {
          const parsed = policyReading(key);
          if (!parsed.policy) throw new Error(JSON.stringify(parsed.findings));
          const policy = compilePolicy(parsed.policy, 'Reading', 'identity');
          const context = createContext(value === undefined ? [] : [[key, value] as const]);
          return evaluate({ identity: [policy] }, { principal: `arn:aws:iam::${ACCOUNT}:user/plain`, action: 'orders:GetOrder', resource: ORDER, context }).decision;
        };
        expect(decideWith(`${prefix}${member}`)).toBe(decideWith(`${prefix}ordinary`));
        expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('blocked');
      }),
      { seed: FC_SEED, numRuns: FC_RUNS },
    );
  });
});

describe('STS parameters named like object members', () => {
  let f: AuthFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it.each(OBJECT_MEMBER_NAMES)('refuse a call that adds a parameter %s, whatever it holds, as an unknown parameter', async (name) => {
    f = await startAuthFixture({ directoryYaml: directoryWithTag('team') });
    const token = await f.tokenFor('plain');
    const base = { RoleArn: `arn:aws:iam::${ACCOUNT}:role/Tagged`, RoleSessionName: 's1' };
    // A computed key: an own member named `name`, as JSON.parse makes it from the caller's text.
    for (const value of [{ RoleArn: `arn:aws:iam::${ACCOUNT}:role/Other` }, 'x', null]) {
      expect(await f.post('/AssumeRole', { ...base, [name]: value }, token)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    }
    expect((await f.post('/AssumeRole', base, token)).status).toBe(200);
  });

  it.each(OBJECT_MEMBER_NAMES)('refuse a tag given as {%s: ...} instead of {Key, Value}', async (name) => {
    f = await startAuthFixture({ directoryYaml: directoryWithTag('team') });
    const res = await f.post('/AssumeRole', { RoleArn: `arn:aws:iam::${ACCOUNT}:role/Tagged`, RoleSessionName: 's1', Tags: [{ [name]: { Key: 'team', Value: 'blocked' } }] }, await f.tokenFor('plain'));
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_tags' } });
  });
});

describe('directory names like object members', () => {
  const yaml = `
account: "${ACCOUNT}"
policies:
  hasOwnProperty:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: "orders:GetOrder", Resource: "*" }]
  __proto__:
    document:
      Version: "2012-10-17"
      Statement: [{ Effect: Deny, Action: "orders:GetOrder", Resource: "*" }]
groups:
  constructor: { policies: [hasOwnProperty] }
users:
  __proto__: { groups: [constructor], policies: [__proto__] }
  toString: { groups: [constructor] }
roles:
  valueOf:
    policies: [hasOwnProperty]
    trustPolicy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Principal: { AWS: "${ACCOUNT}" }, Action: sts:AssumeRole }]
`;
  let f: AuthFixture | undefined;
  afterAll(async () => {
    await f?.close();
  });

  it('name users, groups, roles and policies as any other names, and no name the directory lacks resolves', async () => {
    f = await startAuthFixture({ directoryYaml: yaml });
    const now = Date.now();
    const facts = { issuer: 'x', issuedAt: now, expiresAt: now + 60_000, mfa: false, authMethods: [] };
    const userDecision = (userName: string): string => {
      const outcome = f!.resolver.user({ ...facts, userName }, now);
      return outcome.ok ? decide(outcome.principal, 'orders:GetOrder', ORDER) : outcome.reason;
    };
    expect(['__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf'].map(userDecision)).toEqual(['ExplicitDeny', 'Allow', 'user_unknown', 'user_unknown', 'user_unknown']);
    const roleSession = (roleName: string) => f!.resolver.roleSession({ ...facts, type: 'AssumedRole', roleName, sessionName: 'session-1' }, now);
    const valueOf = roleSession('valueOf');
    expect(valueOf.ok && decide(valueOf.principal, 'orders:GetOrder', ORDER)).toBe('Allow');
    expect(['constructor', '__proto__', 'toString'].map((name) => roleSession(name))).toEqual([0, 1, 2].map(() => ({ ok: false, reason: 'role_unknown' })));
  });
});
