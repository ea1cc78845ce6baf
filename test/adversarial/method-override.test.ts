// Method overrides an upstream framework may honour: a caller allowed GET must never have its
// request acted on as DELETE. iamgate decides on the request line's method and refuses or strips
// whatever could name another (docs/security.md, "Paths and headers"). Each target is sent as a
// raw request line by alice, who may GET /orders/1 but not DELETE it, and the test pins what the
// upstream saw.
import { describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { exchange, jsonOf } from './support/raw.js';

describe('method overrides', () => {
  const gw = useTestGateway();
  const c = useCallers(gw);

  async function send(head: string): Promise<{ status: number; body: Record<string, unknown>; forwarded: { method: string; url: string; headers: Record<string, unknown> }[] }> {
    const before = gw.upstream.received.length;
    const r = await exchange(c.port, `${head}\r\nHost: x\r\n${c.line.alice}\r\nConnection: close\r\n\r\n`);
    const status = r.statuses[0] ?? 0;
    return { status, body: status === 200 ? {} : jsonOf(r.text), forwarded: gw.upstream.received.slice(before).map((x) => ({ method: x.method, url: x.url, headers: x.headers })) };
  }

  it.each([
    // PHP (Laravel, Symfony) drops leading spaces from a parameter name and reads ` `, `.` and `[` as `_`.
    '.method=DELETE',
    '+_method=DELETE',
    '%20_method=DELETE',
    '+.method=DELETE',
    '[method=DELETE',
    '%2Emethod=DELETE',
    'x=1&.METHOD=delete',
    // PHP ends a parameter name at its first NUL.
    '_method%00=DELETE',
    '_method%00x=DELETE',
    'x=1&%5Fmethod%00.ignored=DELETE',
    // Rack and older query parsers split parameters on `;` as well as `&`.
    'x=1;_method=DELETE',
    'x=1;%5fmethod=DELETE',
  ])('refuses ?%s, which a framework reads as _method, with reason method_override and forwards nothing', async (query) => {
    const r = await send(`GET /orders/1?${query} HTTP/1.1`);
    expect([r.status, r.body['code'], r.body['reason']]).toEqual([400, 'bad_path', 'method_override']);
    expect(r.forwarded).toEqual([]);
    expect(gw.audit.decisionsFor(String(r.body['requestId']))).toEqual([expect.objectContaining({ decision: 'Deny', reason: 'bad_path' })]);
  });

  it('forwards names that no framework reads as _method, byte for byte', async () => {
    const query = 'x=a;b&method=DELETE&-method=1&_method_=1&a._method=1&x=.method&y=_method%00';
    const r = await send(`GET /orders/1?${query} HTTP/1.1`);
    expect(r.status).toBe(200);
    expect(r.forwarded.map((f) => [f.method, f.url])).toEqual([['GET', `/orders/1?${query}`]]);
  });

  it('forwards an allowed GET as GET without any method override header the caller sent', async () => {
    const names = ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override', 'X-Forwarded-Method', 'X-Original-Method', 'x-http-method-override'];
    const r = await send(`GET /orders/1 HTTP/1.1\r\n${names.map((n) => `${n}: DELETE`).join('\r\n')}`);
    expect(r.status).toBe(200);
    expect(r.forwarded.map((f) => f.method)).toEqual(['GET']);
    expect(Object.keys(r.forwarded[0]!.headers).filter((h) => /method/i.test(h))).toEqual([]);
  });

  it.each(['DELETE', 'TRACE', 'PROPFIND', 'PURGE'])('decides %s /orders/1 on its own method, which alice may not use there, and never forwards it', async (method) => {
    const r = await send(`${method} /orders/1 HTTP/1.1`);
    expect([r.status, r.body['code']]).toEqual([403, 'implicit_deny']);
    expect(r.forwarded).toEqual([]);
    expect(gw.audit.decisionsFor(String(r.body['requestId']))).toEqual([expect.objectContaining({ decision: 'Deny', method })]);
  });

  it.each(['get', 'Get', 'FOO'])('refuses the method %s, which no route can name, with 400 and one record', async (method) => {
    const r = await send(`${method} /orders/1 HTTP/1.1`);
    expect([r.status, r.body['code']]).toEqual([400, 'malformed_request']);
    expect(r.forwarded).toEqual([]);
    expect(gw.audit.decisionsFor(String(r.body['requestId']))).toHaveLength(1);
  });

  it.each(['http://x/orders/1', 'http://other-host/orders/1', '//other-host/../orders/1?x=1'])('refuses the target %s, or forwards only the origin-form path it names', async (target) => {
    const r = await send(`GET ${target} HTTP/1.1`);
    if (r.status === 200) expect(r.forwarded.map((f) => [f.url, f.headers['host']])).toEqual([['/orders/1?x=1', 'x']]);
    else expect([r.status, r.body['code'], r.forwarded]).toEqual([400, 'bad_path', []]);
  });
});
