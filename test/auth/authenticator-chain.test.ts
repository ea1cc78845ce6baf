// The authenticator chain: each authenticator is offered the request's credential facts in order,
// may say "not mine", and owns the challenge of its scheme. Real tokens (ES256 over a real JWKS
// server), the real token authenticator, the real SPIFFE peer authenticator over a real directory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatorsOf, createAuthenticatorChain, createSpiffePeerAuthenticator, NOT_MINE, type Authenticator, type CredentialFacts } from '../../src/auth/authenticators/index.js';
import { createAuthenticator, createPeerAuthenticator, type PeerAuthenticator, type TokenAuthenticator } from '../../src/auth/index.js';
import { buildDirectory, createPrincipalResolver, readDirectoryDocument, type PrincipalResolver } from '../../src/identity/index.js';
import { authConfig, makeKey, sign, startJwksServer, testClock, type JwksServer, type TestKey } from './helpers.js';

const ISS = 'https://idp.chain.test';
const CLUSTER = 'https://cluster.chain.test';
const WORKER = 'spiffe://cluster.local/ns/orders/sa/orders-worker';

function resolver(): PrincipalResolver {
  const { model, findings } = readDirectoryDocument({
    account: '111122223333',
    users: { alice: {} },
    roles: {
      OrdersWorker: {
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: 'cluster.chain.test' },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: { StringEquals: { 'cluster.chain.test:sub': 'system:serviceaccount:orders:orders-worker' } },
            },
          ],
        },
      },
    },
  });
  if (!model) throw new Error(JSON.stringify(findings));
  return createPrincipalResolver(buildDirectory(model, new Map()));
}

function facts(over: Partial<CredentialFacts> = {}): CredentialFacts {
  return { authorization: undefined, rawHeaders: [], peerAddress: '127.0.0.1', now: Date.now(), ...over };
}

describe('the authenticator chain', () => {
  let key: TestKey;
  let jwks: JwksServer;
  let tokens: TokenAuthenticator;
  let peerIdentity: PeerAuthenticator;
  let peer: Authenticator;
  const clock = testClock(Date.now());
  const directory = resolver();

  beforeAll(async () => {
    key = await makeKey('chain-1');
    jwks = await startJwksServer([key.publicJwk]);
    const config = authConfig({
      issuers: [
        { name: 'idp', issuer: ISS, audiences: ['iamgate'], algorithms: ['ES256'], jwksUrl: jwks.url, claims: { user: 'sub' } },
        {
          name: 'cluster',
          issuer: CLUSTER,
          audiences: ['iamgate'],
          algorithms: ['ES256'],
          jwksUrl: jwks.url,
          webIdentity: { provider: 'cluster.chain.test', roles: ['OrdersWorker'] },
        },
      ],
    });
    tokens = createAuthenticator(config, { resolver: () => directory, now: clock.now });
    const cluster = config.issuers.find((i) => i.name === 'cluster')!;
    peerIdentity = createPeerAuthenticator({ issuer: { ...cluster, webIdentity: cluster.webIdentity! }, trustDomain: 'cluster.local', resolver: () => directory });
    peer = createSpiffePeerAuthenticator(peerIdentity);
  });
  afterAll(async () => {
    await jwks.close();
  });

  it('answers a request no authenticator claims 401 token_missing, challenged by every scheme that has a challenge', async () => {
    const other: Authenticator = { authenticate: () => NOT_MINE, challenge: (realm) => `Other realm="${realm}"` };
    const chain = createAuthenticatorChain([peer, other], 'iamgate');
    expect(await chain.authenticate(facts())).toEqual({ ok: false, code: 'token_missing', status: 401, message: 'A bearer token is required', challenge: 'Other realm="iamgate"' });
    const none = createAuthenticatorChain([peer], 'iamgate');
    expect(await none.authenticate(facts({ peerPrincipal: '' }))).toMatchObject({ ok: false, code: 'token_missing', challenge: undefined });
  });

  it('answers every request no authenticator claims with one frozen outcome, its challenge built once with the chain', async () => {
    let built = 0;
    const other: Authenticator = { authenticate: () => NOT_MINE, challenge: (realm) => `Other realm="${realm}", n="${++built}"` };
    const chain = createAuthenticatorChain([peer, other], 'iamgate');
    const first = await chain.authenticate(facts());
    const second = await chain.authenticate(facts());
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toMatchObject({ ok: false, code: 'token_missing', challenge: 'Other realm="iamgate", n="1"' });
    expect(built).toBe(1);
  });

  it('challenges a failure the same way every time, building the challenge once per code and message', async () => {
    let built = 0;
    let message = 'The token has expired';
    const expiring: Authenticator = {
      authenticate: () => ({ ok: false, code: 'token_expired', status: 401, message }),
      challenge: (realm, failure) => (failure === undefined ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error_description="${failure.message}", n="${++built}"`),
    };
    const chain = createAuthenticatorChain([expiring], 'iamgate');
    const challenge = 'Bearer realm="iamgate", error_description="The token has expired", n="1"';
    expect(await chain.authenticate(facts())).toEqual({ ok: false, code: 'token_expired', status: 401, message, challenge });
    expect(await chain.authenticate(facts())).toEqual({ ok: false, code: 'token_expired', status: 401, message, challenge });
    message = 'Another message';
    expect(await chain.authenticate(facts())).toMatchObject({ message, challenge: 'Bearer realm="iamgate", error_description="Another message", n="2"' });
    expect(built).toBe(2);
  });

  it('lets the first authenticator that claims the request decide, and never asks the ones after it', async () => {
    const asked: string[] = [];
    const first: Authenticator = {
      authenticate: (f) => {
        asked.push('first');
        return f.rawHeaders.includes('x-first') ? { ok: false, code: 'first_refused', status: 401, message: 'refused by the first' } : NOT_MINE;
      },
    };
    const second: Authenticator = {
      authenticate: () => {
        asked.push('second');
        return NOT_MINE;
      },
    };
    const chain = createAuthenticatorChain([first, second, tokens], 'iamgate');
    const refused = await chain.authenticate(facts({ rawHeaders: ['x-first', '1'] }));
    expect(refused).toMatchObject({ ok: false, code: 'first_refused', challenge: 'Bearer realm="iamgate", error="invalid_token", error_description="refused by the first"' });
    expect(asked).toEqual(['first']);
    asked.length = 0;
    const missing = await chain.authenticate(facts());
    expect(missing).toMatchObject({ ok: false, code: 'token_missing', challenge: 'Bearer realm="iamgate"' });
    expect(asked).toEqual(['first', 'second']);
  });

  it('takes the mesh peer as the caller only when the request carries no Authorization header of its own', async () => {
    const chain = createAuthenticatorChain(authenticatorsOf({ tokens, peer: peerIdentity }), 'iamgate');
    const asPeer = await chain.authenticate(facts({ peerPrincipal: WORKER, now: clock.now() }));
    expect(asPeer.ok && asPeer.principal.arn).toBe('arn:aws:sts::111122223333:assumed-role/OrdersWorker/system.serviceaccount.orders.orders-worker');
    const token = await sign(key, { sub: 'alice' }, { iss: ISS, now: clock.now() });
    const asAlice = await chain.authenticate(facts({ peerPrincipal: WORKER, authorization: `Bearer ${token}`, now: clock.now() }));
    expect(asAlice.ok && asAlice.principal.arn).toBe('arn:aws:iam::111122223333:user/alice');
    // An empty Authorization header is still the caller's own credential: the peer is not asked.
    expect(await chain.authenticate(facts({ peerPrincipal: WORKER, authorization: '' }))).toMatchObject({ ok: false, code: 'token_missing' });
    // A peer the directory does not know is refused with the Bearer challenge (the scheme the caller could use).
    const stranger = await chain.authenticate(facts({ peerPrincipal: 'spiffe://cluster.local/ns/orders/sa/other', now: clock.now() }));
    expect(stranger).toMatchObject({ ok: false, code: 'principal_unknown', challenge: 'Bearer realm="iamgate", error="invalid_token", error_description="The caller is not a known principal"' });
  });

  it('answers a token it has verified before synchronously, from the cache keyed by the token', async () => {
    const chain = createAuthenticatorChain([tokens], 'iamgate');
    const token = await sign(key, { sub: 'alice' }, { iss: ISS, now: clock.now() });
    const first = chain.authenticate(facts({ authorization: `Bearer ${token}` }));
    expect(first).toBeInstanceOf(Promise);
    expect((await first).ok).toBe(true);
    const again = chain.authenticate(facts({ authorization: `Bearer ${token}` }));
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ ok: true, principal: { arn: 'arn:aws:iam::111122223333:user/alice' } });
    // One character changed is another token: verified (and refused), never served from the cache.
    // Changed inside the signature, not at its end, whose last character holds padding bits that a
    // lenient base64url reader may ignore: there, another character could spell the same bytes.
    const at = token.length - 10;
    const forged = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    expect(await chain.authenticate(facts({ authorization: `Bearer ${forged}` }))).toMatchObject({ ok: false, code: 'token_signature_invalid' });
  });

});
