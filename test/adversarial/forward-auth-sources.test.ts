// Forward-auth calls that describe the original request more than once: a client can add headers
// its proxy passes on to the decision call (nginx forwards every client header to the
// auth_request subrequest), so two descriptions that disagree, or a describing header sent twice,
// are refused with 400 rather than one of them believed.
import { describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { exchange, jsonOf } from './support/raw.js';

describe('forward-auth with more than one description of the original request', () => {
  const gw = useTestGateway();
  const c = useCallers(gw);

  async function ask(lines: readonly string[], path = '/.iamgate/authz', method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, `${method} ${path} HTTP/1.1\r\nHost: x\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
    expect(gw.upstream.arrivals()).toBe(before);
    const status = r.statuses[0] ?? 0;
    return { status, body: status === 200 ? {} : jsonOf(r.text) };
  }

  it.each([
    ['a client X-Original-URI beside the proxy’s X-Original-URL', 'alice', ['X-Original-URL: https://shop/admin/users', 'X-Original-Method: GET', 'X-Original-URI: /public/x']],
    ['a client X-Original-URI beside Traefik’s headers, same path, another method', 'bob', ['X-Forwarded-Method: DELETE', 'X-Forwarded-Uri: /orders/5', 'X-Original-URI: /orders/5', 'X-Original-Method: GET']],
    ['a client X-Forwarded-Uri beside nginx’s headers', 'alice', ['X-Original-URI: /admin/users', 'X-Original-Method: GET', 'X-Forwarded-Uri: /public/x', 'X-Forwarded-Method: GET']],
    ['an X-Original-URI beside another Envoy path', 'alice', ['X-Original-URI: /public/x', 'X-Original-Method: GET']],
    ['X-Original-URI twice', 'alice', ['X-Original-URI: /public/x', 'X-Original-URI: /admin/users', 'X-Original-Method: GET']],
    ['X-Original-URL twice', 'alice', ['X-Original-URL: https://shop/public/x', 'x-original-url: https://shop/admin/users', 'X-Original-Method: GET']],
    ['X-Original-Method twice', 'bob', ['X-Original-URI: /orders/5', 'X-Original-Method: GET', 'X-Original-Method: DELETE']],
    ['X-Forwarded-Uri twice', 'alice', ['X-Forwarded-Uri: /public/x', 'X-Forwarded-Uri: /admin/users', 'X-Forwarded-Method: GET']],
    ['X-Forwarded-Method twice', 'bob', ['X-Forwarded-Uri: /orders/5', 'X-Forwarded-Method: GET', 'X-Forwarded-Method: DELETE']],
  ] as const)('refuses %s with 400 forward_auth_ambiguous, audited', async (name, user, lines) => {
    const path = name.includes('Envoy') ? '/.iamgate/authz/admin/users' : '/.iamgate/authz';
    const r = await ask([c.line[user], ...lines], path);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'BadRequest', code: 'forward_auth_ambiguous' });
    expect(gw.audit.decisionsFor(String(r.body['requestId']))).toEqual([expect.objectContaining({ kind: 'forward_auth', decision: 'Deny', reason: 'forward_auth_ambiguous', status: 400 })]);
  });

  it('decides when every description says the same method and target', async () => {
    const same = await ask([c.line.alice, 'X-Original-URL: https://shop/public/x?a=1', 'X-Original-URI: /public/x?a=1', 'X-Original-Method: GET']);
    expect(same.status).toBe(200);
    const denied = await ask([c.line.bob, 'X-Forwarded-Uri: /orders/5', 'X-Forwarded-Method: delete', 'X-Original-URI: /orders/5', 'X-Original-Method: DELETE']);
    expect([denied.status, denied.body['action']]).toEqual([403, 'orders:DeleteOrder']);
  });
});
