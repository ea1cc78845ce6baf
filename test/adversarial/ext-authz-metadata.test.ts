// Who a check is about comes from its attributes, which Envoy writes from the request it holds;
// the gRPC call's own metadata is the transport's (Envoy's initial_metadata, tracing, a client
// of the port), never the caller. Metadata naming a caller (a bearer token, iamgate's identity
// headers, a client certificate, a SPIFFE ID) must change no decision.
import { describe, expect, it } from 'vitest';
import { body, checkOf, requestIdOf, useExtAuthzGateway } from '../extauthz/check.js';
import { headerOf } from '../support/grpc.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';

describe('gRPC metadata on an ext_authz check that names a caller', () => {
  const { gw, client } = useExtAuthzGateway();

  const claims = async (): Promise<Record<string, string>> => ({
    authorization: await gw.bearer('alice'),
    'x-iamgate-principal': ALICE,
    'x-iamgate-mfa': 'true',
    'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/orders/sa/orders-worker',
    'x-envoy-peer-principal': 'spiffe://cluster.local/ns/orders/sa/orders-worker',
  });

  it('leaves a check without credentials in its attributes unauthenticated, 401 with one record', async () => {
    const answer = await client().check(checkOf({}), { metadata: await claims() });
    expect([answer.denied_response?.status?.code, body(answer)['code']]).toEqual([401, 'token_missing']);
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 401 })]);
  });

  it('decides a check as the bearer its attributes carry, not as the caller the metadata names', async () => {
    const denied = await client().check(checkOf({ method: 'DELETE', path: '/orders/5', headers: { authorization: await gw.bearer('bob') } }), { metadata: await claims() });
    expect(body(denied)).toMatchObject({ reason: 'implicit_deny', action: 'orders:DeleteOrder' });
    const allowed = await client().check(checkOf({ headers: { authorization: await gw.bearer('bob') } }), { metadata: await claims() });
    expect(headerOf(allowed.ok_response, 'x-iamgate-principal')).toBe('arn:aws:iam::111122223333:user/bob');
    expect(headerOf(allowed.ok_response, 'x-iamgate-mfa')).toBe('false');
  });
});
