// One field for the machine-readable code on every error answer: `code`, on 400, 401, 403, 404
// and on the operator endpoints; a 403 keeps `reason` as an alias with the same value.
import { request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';

async function answer(url: string, init: { method?: 'GET' | 'POST' | 'DELETE'; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

describe('error answers', () => {
  const gw = useTestGateway();
  let bob = '';
  let carol = '';
  beforeAll(async () => {
    bob = await gw.bearer('bob');
    carol = await gw.bearer('carol');
  });

  it('carry the code in `code` on 401, 403, 404 and 400 alike', async () => {
    const answers = [
      await answer(`${gw.url}/orders/1`),
      await answer(`${gw.url}/orders`, { method: 'POST', headers: { authorization: bob, 'content-type': 'application/json' }, body: '{}' }),
      await answer(`${gw.url}/.iamgate/nothing-here`, { headers: { authorization: bob } }),
      await answer(`${gw.url}/orders/a%2Fb`, { headers: { authorization: bob } }),
    ];
    expect(answers.map((a) => [a.status, a.body['code']])).toEqual([
      [401, 'token_missing'],
      [403, 'implicit_deny'],
      [404, 'reserved_path'],
      [400, 'bad_path'],
    ]);
    for (const a of answers) expect(a.body['requestId']).toEqual(expect.any(String));
  });

  it('keep `reason` on a 403 as the same value as `code`', async () => {
    const denied = await answer(`${gw.url}/orders/2`, { method: 'DELETE', headers: { authorization: carol } });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ error: 'AccessDenied', code: 'mfa_required', reason: 'mfa_required', action: expect.any(String) });
  });

  it('carry `code` on the operator endpoints too', async () => {
    const bad = await answer(`${gw.opsUrl}/v1/decisions/explain`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'not json' });
    expect(bad).toEqual({ status: 400, body: { error: 'BadRequest', code: 'bad_request', message: 'the body must be JSON' } });
  });
});
