// Policy-engine evasion over HTTP, with the real authenticator and the decision cache in front of
// the evaluator, as `iamgate serve` runs them: policy variables fed hostile values (a principal tag
// asserted by the identity provider holding `*`, `?`, `${...}`, `/` or colons; route parameters
// holding wildcards), resource ARNs with extra colons, an odd-case action in a Deny, and cached
// decisions that must never be served to a request that differs in a key the policy reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/net.js';
import { ADVERSARIAL_FIXTURES } from './support/fixtures.js';
import { startIdp, type Idp } from './support/idp.js';
import { startRealGateway, type RealGateway } from './support/real-gateway.js';

describe('policy evasion', () => {
  let idp: Idp;
  let gw: RealGateway;

  beforeAll(async () => {
    idp = await startIdp();
    gw = await startRealGateway({
      issuers: [idp.issuerConfig({ claims: { tags: { team: 'department' } } })],
      files: ADVERSARIAL_FIXTURES,
      decisionCache: true,
    });
  });

  afterAll(async () => {
    await gw?.close();
    await idp?.close();
  });

  /** A token for `sub`, with a `department` claim (the `team` tag) when given. */
  async function bearer(sub: string, department?: string): Promise<string> {
    return `Bearer ${await idp.token(idp.claims(sub, Date.now(), department === undefined ? {} : { department }))}`;
  }

  async function get(path: string, authorization: string): Promise<{ status: number; body: Record<string, unknown>; forwarded: string[] }> {
    const before = gw.upstream.received.length;
    const res = await rawRequest(`${gw.url}${path}`, { headers: { authorization } });
    return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown>, forwarded: gw.upstream.received.slice(before).map((r) => r.url) };
  }

  it('lets a user reach only resources named by its own user name', async () => {
    const alice = await bearer('alice');
    expect((await get('/users/alice/orders/1', alice)).status).toBe(200);
    for (const path of ['/users/bob/orders/1', '/users/ALICE/orders/1', '/users/*/orders/1', '/users/al*/orders/1', '/users/alic%3F/orders/1', '/users/alice*/orders/1']) {
      const r = await get(path, alice);
      expect([path, r.status, r.body['reason']]).toEqual([path, 403, 'implicit_deny']);
      expect(r.forwarded).toEqual([]);
    }
  });

  it('keeps a route parameter holding ${...} literal: it is never expanded into the caller’s name', async () => {
    for (const path of ['/users/%24%7Baws:username%7D/orders/1', '/users/$%7Baws:username%7D/orders/1', '/users/%24%7B*%7D/orders/1']) {
      const r = await get(path, await bearer('bob'));
      expect([path, r.status, r.body['reason'], r.body['resource']]).toEqual([path, 403, 'implicit_deny', expect.stringContaining('user/${')]);
    }
  });

  it('reads a principal tag asserted by the identity provider, as configured', async () => {
    expect((await get('/teams/red/docs/1', await bearer('alice'))).status).toBe(200);
    expect((await get('/teams/blue/docs/1', await bearer('alice', 'blue'))).status).toBe(200);
    expect((await get('/teams/red/docs/1', await bearer('alice', 'blue'))).status).toBe(403);
  });

  it.each([
    ['a star', '*', ['/teams/red/docs/1', '/teams/blue/docs/1']],
    ['a question mark run', '???', ['/teams/red/docs/1']],
    ['a policy variable', '${aws:username}', ['/teams/alice/docs/1', '/teams/red/docs/1']],
    ['an escaped star', '${*}', ['/teams/red/docs/1']],
    ['a default that names another team', "${aws:nothing, 'red'}", ['/teams/red/docs/1']],
    ['a slash and a star', 'red/*', ['/teams/red/docs/1']],
    ['colons', 'red:*:*', ['/teams/red/docs/1']],
    ['an empty value', '', ['/teams/red/docs/1']],
  ] as const)('treats a tag holding %s as literal text, matching no other team', async (_name, department, paths) => {
    const token = await bearer('alice', department);
    for (const path of paths) {
      const r = await get(path, token);
      expect([path, r.status, r.body['reason']]).toEqual([path, 403, 'implicit_deny']);
      expect(r.forwarded).toEqual([]);
    }
  });

  it('never serves a cached Allow to the same user presenting another tag value', async () => {
    const red = await bearer('alice', 'red');
    const star = await bearer('alice', '*');
    for (let i = 0; i < 3; i++) {
      expect((await get('/teams/red/docs/7', red)).status).toBe(200);
      const r = await get('/teams/red/docs/7', star);
      expect([r.status, r.body['reason']]).toEqual([403, 'implicit_deny']);
      expect(r.forwarded).toEqual([]);
    }
  });

  it('never serves a cached Allow across users whose policies read their own names', async () => {
    const alice = await bearer('alice');
    const bob = await bearer('bob');
    for (let i = 0; i < 3; i++) {
      expect((await get('/users/alice/orders/9', alice)).status).toBe(200);
      expect((await get('/users/alice/orders/9', bob)).status).toBe(403);
      expect((await get('/users/bob/orders/9', bob)).status).toBe(200);
      expect((await get('/users/bob/orders/9', alice)).status).toBe(403);
    }
  });

  it('applies a Deny written with an odd-case action, however the resource is encoded or padded with colons', async () => {
    const alice = await bearer('alice');
    for (const path of ['/orders/secret', '/orders/secret-1', '/orders/%73ecret', '/orders/secret:1', '/orders/secret:x:y:z', '/orders/secret%3A1']) {
      const r = await get(path, alice);
      expect([path, r.status, r.body['reason']]).toEqual([path, 403, 'explicit_deny']);
      expect(r.forwarded).toEqual([]);
    }
    for (const path of ['/orders/1:secret', '/orders/a:b:c:d:e:f', '/orders/arn:aws:orders:us-east-1:999999999999:order']) {
      const r = await get(path, alice);
      expect([path, r.status]).toEqual([path, 200]);
    }
  });

  it('keeps colons of a parameter inside the resource part of the ARN (no account or region spoofing)', async () => {
    const r = await get('/orders/x:us-west-2:999999999999:order', await bearer('bob'));
    expect(r.status).toBe(403);
    expect(r.body['resource']).toBe('arn:aws:orders:us-east-1:111122223333:order/x:us-west-2:999999999999:order');
  });

  it('refuses, not guesses, a condition key given twice, even after the single value was cached', async () => {
    const alice = await bearer('alice');
    expect((await get('/orders?status=open', alice)).status).toBe(200);
    expect((await get('/orders?status=open', alice)).status).toBe(200);
    const r = await get('/orders?status=open&status=all', alice);
    expect([r.status, r.body['code']]).toEqual([400, 'ambiguous_parameter']);
    expect(r.forwarded).toEqual([]);
    const other = await get('/orders?status=all', alice);
    expect([other.status, other.body['reason']]).toEqual([403, 'implicit_deny']);
  });
});
