// Path confusion beyond the corpus in test/gateway/path-confusion.test.ts: each attempt is sent as
// a raw request line, and the test pins the exact answer — the `reason` of a 400, or the action of
// a 403 — and what reached the upstream. Characters that look like separators but that NFKC leaves
// alone (division slash) may pass, percent-encoded and only under a route the caller may use; those
// NFKC turns into separators or dots are refused (test/adversarial/unicode-lookalikes.test.ts).
import { describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { exchange, jsonOf } from './support/raw.js';

describe('path confusion, exact answers', () => {
  const gw = useTestGateway();
  const c = useCallers(gw);

  async function get(target: string, authorization = c.bearer.alice): Promise<{ status: number; body: Record<string, unknown>; forwarded: string[] }> {
    const before = gw.upstream.received.length;
    const r = await exchange(c.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nConnection: close\r\n\r\n`);
    const status = r.statuses[0] ?? 0;
    const body = status === 200 ? {} : jsonOf(r.text);
    return { status, body, forwarded: gw.upstream.received.slice(before).map((x) => x.url) };
  }

  it.each([
    ['/public/%c0%af..%c0%afadmin/users', 'invalid_utf8'],
    ['/public/%e0%80%af../admin/users', 'invalid_utf8'],
    ['/public/%f0%80%80%af', 'invalid_utf8'],
    ['/public/%c1%9c..%c1%9cadmin', 'invalid_utf8'],
    ['/public/%ed%a0%80', 'invalid_utf8'],
    ['/public/%f4%90%80%80', 'invalid_utf8'],
    ['/public/%ff', 'invalid_utf8'],
    ['/public/%e2%88', 'invalid_utf8'],
    ['/public/%c3', 'invalid_utf8'],
    ['/public/%c3%2f', 'invalid_utf8'],
    ['/public/%00', 'nul'],
    ['/public/readme%00.txt', 'nul'],
    ['/public/%0d%0aX-Iamgate-Principal:%20forged', 'control_character'],
    ['/public/%7f', 'control_character'],
    ['/public/..%5cadmin', 'encoded_separator'],
    ['/public/%5C..%5Cadmin', 'encoded_separator'],
    ['/public/x%2F..%2F..%2Fadmin', 'encoded_separator'],
    ['/public/%u002f..%u002fadmin', 'invalid_percent_encoding'],
    ['/public/%2', 'invalid_percent_encoding'],
    ['/public/%zz', 'invalid_percent_encoding'],
    ['/public/x?q=%zz', 'invalid_percent_encoding'],
    ['/public/%252f..%252fadmin', 'double_encoding'],
    ['/public/%25%35%63', 'double_encoding'],
    ['/public/..;/admin/users', 'semicolon'],
    ['/admin./users', 'trailing_dot'],
    ['/public/../../admin/users', 'escapes_root'],
    ['/%2e%2e/admin/users', 'escapes_root'],
    // Express (method-override), Laravel, Symfony and Rails may take the method from _method.
    ['/public/readme?_method=DELETE', 'method_override'],
    ['/public/readme?x=1&_method=DELETE', 'method_override'],
    ['/public/readme?%5Fmethod=DELETE', 'method_override'],
    ['/public/readme?_%6Dethod=PUT', 'method_override'],
    ['/public/readme?_METHOD=delete', 'method_override'],
    ['/public/readme?_method', 'method_override'],
  ])('refuses %s with reason %s, forwarding nothing', async (target, reason) => {
    const r = await get(target);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'BadRequest', code: 'bad_path', reason });
    expect(r.forwarded).toEqual([]);
    expect(gw.audit.decisionsFor(String(r.body['requestId']))).toEqual([expect.objectContaining({ decision: 'Deny', reason: 'bad_path' })]);
  });

  it.each(['/public/..%ef%bc%8fadmin/users', '/public/..%ef%bc%bcadmin/users', '/public/%ef%bc%8e%ef%bc%8e/admin/users'])(
    'refuses %s, whose NFKC form climbs out of /public/, with 400 unicode_lookalike',
    async (target) => {
      const r = await get(target);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: 'BadRequest', code: 'unicode_lookalike', reason: 'nfkc_separator' });
      expect(r.forwarded).toEqual([]);
    },
  );

  it('refuses a target over the length limit with reason too_long', async () => {
    const r = await get(`/public/${'a'.repeat(8200)}`);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'bad_path', reason: 'too_long' });
    expect(r.forwarded).toEqual([]);
  });

  it('refuses raw backslashes and forwards nothing', async () => {
    const before = gw.upstream.arrivals();
    for (const target of ['/public\\..\\admin/users', '/public/a\\b', '/admin\\users']) {
      const r = await exchange(c.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: ${c.bearer.alice}\r\nConnection: close\r\n\r\n`);
      expect([target, r.statuses]).toEqual([target, [400]]);
    }
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it.each([
    ['/./admin/users', '/./admin/users'],
    ['/public/./../admin/users', '/public/./../admin/users'],
    ['/public/x%3f/../../admin/users', '/public/x%3f/../../admin/users'],
    ['/public/x%3F/../../admin/users?/public/y', '/public/x%3F/../../admin/users?/public/y'],
    ['/public/%2e/../admin/users', '/public/%2e/../admin/users'],
    ['2000 "./" segments, then admin/users', `/${'./'.repeat(2000)}admin/users`],
    ['1000 "x/../" pairs under /public, then ../admin/users', `/public/${'x/../'.repeat(1000)}../admin/users`],
  ])('resolves %s onto the admin route it really names, and denies it', async (_name, target) => {
    const r = await get(target);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ reason: 'implicit_deny', action: 'orders:Admin', resource: 'arn:aws:orders:us-east-1:111122223333:admin/users' });
    expect(r.forwarded).toEqual([]);
  });

  it.each(['/admin%3F/users', '/admin%23/users', '/admin%20/users', '/ADMIN/users', '/public', '/Public/readme', '/admin%2D/users'])(
    'treats %s as a path no route maps, and denies it',
    async (target) => {
      const r = await get(target);
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ reason: 'implicit_deny', action: null, resource: null });
      expect(r.forwarded).toEqual([]);
    },
  );

  it.each([
    ['/admin%3f/../public/readme', '/public/readme'],
    ['/public/%2e%2E/public/readme', '/public/readme'],
    ['/public/%72eadme', '/public/readme'],
    ['/public/readme%20', '/public/readme%20'],
    ['/public/..%e2%88%95admin/users', '/public/..%E2%88%95admin/users'],
    ['/public/a%3Fb%23c', '/public/a%3Fb%23c'],
    ['/public/{x}|<y>', '/public/%7Bx%7D%7C%3Cy%3E'],
  ])('forwards %s only under /public/, as the canonical %s', async (target, canonical) => {
    const r = await get(target);
    expect(r.status).toBe(200);
    expect(r.forwarded).toEqual([canonical]);
  });

  it('forwards parameters that only resemble a method override', async () => {
    const r = await get('/public/readme?my_method=DELETE&x=_method&_methods=1&_method_=1');
    expect(r.status).toBe(200);
    expect(r.forwarded).toEqual(['/public/readme?my_method=DELETE&x=_method&_methods=1&_method_=1']);
  });

  it('forwards the query byte for byte, never reading a path out of it', async () => {
    const r = await get('/public/readme?next=/admin/users&x=%2e%2e%2f&y=a;b');
    expect(r.status).toBe(200);
    expect(r.forwarded).toEqual(['/public/readme?next=/admin/users&x=%2e%2e%2f&y=a;b']);
  });

  it('forwards a path of thousands of segments unchanged under the route that allows it', async () => {
    const deep = `/public/${Array.from({ length: 3000 }, (_, i) => (i % 10).toString()).join('/')}`;
    const r = await get(deep);
    expect(r.status).toBe(200);
    expect(r.forwarded).toEqual([deep]);
  });

  it('answers 431, not 500, for a request line longer than the header limit', async () => {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, `GET /public/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${c.bearer.alice}\r\n\r\n`);
    expect(r.statuses).toEqual([431]);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('matches resource patterns on the decoded parameter, so encoding cannot dodge a Deny', async () => {
    for (const target of ['/orders/%73ecret-plans', '/orders/secret%2Dplans', '/orders/secret-plans%20', '/orders/secret:plans', '/orders/secret%3Aplans']) {
      const r = await get(target, c.bearer.bob);
      expect([target, r.status, r.body['reason']]).toEqual([target, 403, 'explicit_deny']);
      expect(r.forwarded).toEqual([]);
    }
    const plain = await get('/orders/%70lans', c.bearer.bob);
    expect(plain.status).toBe(200);
    expect(plain.forwarded).toEqual(['/orders/plans']);
  });
});
