// A fault inside the pipeline (here the evaluator itself throwing on a corrupt policy set) is
// answered `internal_error` 500 from the error table, never allowed, and leaves exactly one audit
// record, like every other answer.
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { NOT_MINE, type Authenticator } from '../../src/auth/authenticators/index.js';
import type { PolicyLoader } from '../../src/gateway/server.js';
import type { CompiledPolicy } from '../../src/policy/index.js';
import { useTestGateway } from '../support/gateway.js';

/** A principal whose identity policy list holds a hole: the evaluator throws reading it. */
function corruptPolicySets(authenticator: Authenticator): Authenticator {
  return {
    ...authenticator,
    async authenticate(req) {
      const outcome = await authenticator.authenticate(req);
      if (outcome === NOT_MINE || !outcome.ok) return outcome;
      const broken = { ...outcome.principal.policySet, identity: [null as unknown as CompiledPolicy], identityIndex: null as unknown as CompiledPolicy };
      return { ok: true, principal: { ...outcome.principal, policySet: broken } };
    },
  };
}

const faulty = (load: PolicyLoader): PolicyLoader => async () => {
  const loaded = await load();
  return loaded.ok ? { ...loaded, snapshot: { ...loaded.snapshot, authenticator: corruptPolicySets(loaded.snapshot.authenticator) } } : loaded;
};

describe('an evaluator that throws', () => {
  const gw = useTestGateway({ wrapLoader: faulty });

  it('answers a proxied request internal_error 500 with the table body and records it once', async () => {
    const before = gw.upstream.arrivals();
    const res = await request(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice') } });
    const body = (await res.body.json()) as Record<string, unknown>;
    expect(res.statusCode).toBe(500);
    expect(body).toEqual({ error: 'InternalError', code: 'internal_error', message: 'iamgate failed to handle the request', requestId: expect.any(String) });
    expect(gw.upstream.arrivals()).toBe(before);
    const records = gw.audit.events.filter((e) => e.requestId === body['requestId']);
    expect(records).toEqual([expect.objectContaining({ kind: 'request', decision: 'Deny', reason: 'internal_error', status: 500, method: 'GET', sourceIp: '127.0.0.1' })]);
  });

  it('answers a forward-auth check internal_error 500 and records it once', async () => {
    const res = await request(`${gw.url}/.iamgate/authz`, { headers: { authorization: await gw.bearer('alice'), 'x-original-uri': '/orders/1', 'x-original-method': 'GET' } });
    const body = (await res.body.json()) as Record<string, unknown>;
    expect(res.statusCode).toBe(500);
    expect(body['code']).toBe('internal_error');
    const records = gw.audit.events.filter((e) => e.requestId === body['requestId']);
    expect(records).toEqual([expect.objectContaining({ kind: 'forward_auth', decision: 'Deny', reason: 'internal_error', status: 500 })]);
  });
});
