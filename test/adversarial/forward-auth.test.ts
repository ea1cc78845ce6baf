// The forward-auth endpoint attacked directly: calls that do not say which request they ask about,
// original URIs that are not paths or try to climb out of them, method spellings, the Envoy form
// with dot segments in the endpoint path, and iamgate's own reserved paths. Forward-auth never
// contacts the upstream, whatever it is asked.
import { describe, expect, it } from 'vitest';
import { DESCRIBING_HEADERS, IDENTITY_HEADERS } from '../../src/proxy/index.js';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { exchange, jsonOf } from './support/raw.js';

describe('forward-auth under attack', () => {
  const gw = useTestGateway();
  const c = useCallers(gw);

  /** A forward-auth call (GET `path`, default `/.iamgate/authz`) with header lines; its status and JSON body. */
  async function ask(lines: readonly string[], path = '/.iamgate/authz', method = 'GET'): Promise<{ status: number; body: Record<string, unknown>; head: string }> {
    const before = gw.upstream.arrivals();
    const r = await exchange(c.port, `${method} ${path} HTTP/1.1\r\nHost: x\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
    expect(gw.upstream.arrivals()).toBe(before);
    const status = r.statuses[0] ?? 0;
    const head = r.text.slice(0, r.text.indexOf('\r\n\r\n'));
    return { status, body: status === 200 ? {} : jsonOf(r.text), head };
  }

  it.each([
    ['no description at all', []],
    ['X-Original-Method alone', ['X-Original-Method: GET']],
    ['X-Original-URI without a method', ['X-Original-URI: /orders/1']],
    ['an empty X-Original-Method', ['X-Original-URI: /orders/1', 'X-Original-Method:']],
    ['X-Forwarded-Method alone', ['X-Forwarded-Method: GET']],
    ['X-Forwarded-Uri without a method', ['X-Forwarded-Uri: /orders/1']],
    ['an X-Original-URL that is not http(s)', ['X-Original-URL: ftp://shop/orders/1', 'X-Original-Method: GET']],
    ['a scheme-relative X-Original-URL', ['X-Original-URL: //shop/orders/1', 'X-Original-Method: GET']],
  ])('answers 400 forward_auth_incomplete to %s, never assuming a request', async (_name, lines) => {
    const r = await ask([c.line.alice, ...lines]);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'BadRequest', code: 'forward_auth_incomplete' });
  });

  it.each([
    ['an empty original URI', 'X-Original-URI:', 'not_origin_form'],
    ['an absolute original URI', 'X-Original-URI: http://evil.example/admin/users', 'not_origin_form'],
    ['an asterisk', 'X-Original-URI: *', 'not_origin_form'],
    ['a relative original URI', 'X-Original-URI: admin/users', 'not_origin_form'],
    ['dot segments above the root', 'X-Original-URI: /public/%2e%2e/%2e%2e/admin/users', 'escapes_root'],
    ['an encoded slash', 'X-Original-URI: /public/..%2Fadmin/users', 'encoded_separator'],
    ['a backslash', 'X-Original-URI: /public\\..\\admin/users', 'backslash'],
    ['an overlong slash', 'X-Original-URI: /public/%c0%afadmin', 'invalid_utf8'],
    ['a NUL', 'X-Original-URI: /public/%00/../../admin', 'nul'],
    ['a fragment', 'X-Original-URI: /public/x#/../../admin', 'fragment'],
    ['a Traefik URI with dot segments above the root', 'X-Forwarded-Uri: /../admin/users', 'escapes_root'],
  ])('refuses %s with 400 bad_path (%s)', async (_name, line, reason) => {
    const method = line.startsWith('X-Forwarded') ? 'X-Forwarded-Method: GET' : 'X-Original-Method: GET';
    const r = await ask([c.line.alice, line, method]);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'bad_path', reason });
  });

  it('refuses an original URI that normalisation would change, since the proxy forwards it raw', async () => {
    for (const uri of ['/admin/../public/%72eadme', '/public/./../admin/users']) {
      const r = await ask([c.line.alice, `X-Original-URI: ${uri}`, 'X-Original-Method: GET']);
      expect([uri, r.status, r.body['code'], r.body['reason']]).toEqual([uri, 400, 'bad_path', 'not_canonical']);
      expect(gw.audit.decisionsFor(String(r.body['requestId']))).toEqual([expect.objectContaining({ kind: 'forward_auth', reason: 'bad_path' })]);
    }
    const denied = await ask([c.line.alice, 'X-Original-URI: /admin/users', 'X-Original-Method: GET']);
    expect([denied.status, denied.body['action']]).toEqual([403, 'orders:Admin']);
  });

  it('answers an allowed call with every iamgate identity header, empty where there is none, so a proxy copying them replaces the caller ones', async () => {
    const r = await ask([c.line.alice, 'X-Original-URI: /public/readme', 'X-Original-Method: GET', 'X-Iamgate-Session: forged', 'X-Iamgate-Mfa: true']);
    expect(r.status).toBe(200);
    const head = r.head.toLowerCase();
    for (const name of Object.values(IDENTITY_HEADERS)) expect(head).toMatch(new RegExp(`\\r\\n${name}:`));
    expect(head).toMatch(/\r\nx-iamgate-session: ?\r\n/);
    expect(head).toMatch(/\r\nx-iamgate-mfa: false\r\n/);
    expect(head).not.toContain('forged');
  });

  /** A value for a describing header that names another request than PUT /orders/5. */
  const otherRequest = (name: string): string => (name.includes('method') ? 'DELETE' : name.includes('host') || name.includes('server') || name.endsWith('dst-host') ? 'admin.internal' : '/admin/users');

  const DIALECTS = [
    ['nginx', ['X-Original-URI: /orders/5', 'X-Original-Method: PUT'], '/.iamgate/authz', 'GET', ['x-original-uri', 'x-original-url', 'x-original-method']],
    ['Traefik', ['X-Forwarded-Uri: /orders/5', 'X-Forwarded-Method: PUT'], '/.iamgate/authz', 'GET', ['x-forwarded-uri', 'x-forwarded-method']],
    ['Envoy', [], '/.iamgate/authz/orders/5', 'PUT', []],
  ] as const;

  it.each(DIALECTS)('allows the %s description of PUT /orders/5 on its own, as a baseline', async (_dialect, lines, path, method) => {
    expect((await ask([c.line.alice, ...lines], path, method)).status).toBe(200);
  });

  for (const [dialect, lines, path, method, reads] of DIALECTS) {
    const unread = DESCRIBING_HEADERS.filter((name) => !(reads as readonly string[]).includes(name));
    it.each(unread)(`refuses the ${dialect} description carrying %s, which it does not read, as forward_auth_ambiguous`, async (name) => {
      const r = await ask([c.line.alice, ...lines, `${name}: ${otherRequest(name)}`], path, method);
      expect([r.status, r.body['code']]).toEqual([400, 'forward_auth_ambiguous']);
      expect(gw.audit.decisionsFor(String(r.body['requestId']))).toEqual([expect.objectContaining({ kind: 'forward_auth', reason: 'forward_auth_ambiguous' })]);
    });
  }

  it('upper-cases the original method and decides on it, never on the call’s own method', async () => {
    const lower = await ask([c.line.bob, 'X-Original-URI: /orders/1', 'X-Original-Method: delete']);
    expect([lower.status, lower.body['action']]).toEqual([403, 'orders:DeleteOrder']);
    const viaPost = await ask([c.line.bob, 'X-Original-URI: /orders/1', 'X-Original-Method: GET'], '/.iamgate/authz', 'POST');
    expect(viaPost.status).toBe(200);
    const head = await ask([c.line.bob, 'X-Original-URI: /orders/secret-1', 'X-Original-Method: HEAD']);
    expect([head.status, head.body['reason'], head.body['action']]).toEqual([403, 'explicit_deny', 'orders:GetOrder']);
  });

  it.each([
    ['a method list', 'GET, DELETE'],
    ['an unknown method', 'PURGE'],
    ['a method with a path in it', 'GET /public/readme'],
  ])('denies %s as an unmapped request', async (_name, method) => {
    const r = await ask([c.line.bob, 'X-Original-URI: /orders/1', `X-Original-Method: ${method}`]);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ reason: 'implicit_deny', action: null });
  });

  it('refuses the Envoy form when the appended path holds dot segments', async () => {
    for (const path of ['/.iamgate/authz/public/../admin/users', '/.iamgate/authz/public/%2e%2e/admin/users']) {
      const r = await ask([c.line.alice], path);
      expect([path, r.status, r.body['reason']]).toEqual([path, 400, 'not_canonical']);
      expect(gw.audit.decisionsFor(String(r.body['requestId']))).toEqual([expect.objectContaining({ kind: 'forward_auth', reason: 'bad_path', path: '/admin/users' })]);
    }
  });

  it('treats a path climbing out of the endpoint as the proxied request it resolves to', async () => {
    const denied = await ask([c.line.alice], '/.iamgate/authz/%2e%2e/%2e%2e/admin/users');
    expect([denied.status, denied.body['action']]).toEqual([403, 'orders:Admin']);
    expect(gw.audit.decisionsFor(String(denied.body['requestId']))).toEqual([expect.objectContaining({ kind: 'request', path: '/admin/users' })]);
    const before = gw.upstream.received.length;
    const allowed = await exchange(c.port, `GET /.iamgate/authz/../../public/readme HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\nConnection: close\r\n\r\n`);
    expect(allowed.statuses).toEqual([200]);
    expect(gw.upstream.received.slice(before).map((x) => x.url)).toEqual(['/public/readme']);
    const reserved = await ask([c.line.alice], '/.iamgate/authz/public/../../public/readme');
    expect([reserved.status, reserved.body['code']]).toEqual([404, 'reserved_path']);
  });

  it('answers questions about iamgate’s own reserved paths with a deny', async () => {
    for (const uri of ['/.iamgate/authz', '/.iamgate/sts/AssumeRole', '/.well-known/jwks.json']) {
      const r = await ask([c.line.alice, `X-Original-URI: ${uri}`, 'X-Original-Method: GET']);
      expect([uri, r.status, r.body['reason']]).toEqual([uri, 403, 'implicit_deny']);
    }
  });

  it('challenges an anonymous or badly authenticated call without leaking identity headers', async () => {
    const anonymous = await ask(['X-Original-URI: /orders/1', 'X-Original-Method: GET', 'X-Iamgate-Principal: arn:aws:iam::111122223333:user/alice']);
    expect(anonymous.status).toBe(401);
    expect(anonymous.head).toMatch(/\r\nwww-authenticate: Bearer realm="iamgate"\r\n/i);
    expect(anonymous.head).not.toMatch(/\r\nx-iamgate-principal:/i);
    const forged = await ask(['Authorization: Bearer e30.e30.', 'X-Original-URI: /orders/1', 'X-Original-Method: GET']);
    expect([forged.status, forged.body['error']]).toEqual([401, 'Unauthorized']);
    expect(forged.head).not.toMatch(/\r\nx-iamgate-principal:/i);
  });

  it('records one forward_auth decision per call, refused ones included', async () => {
    const r = await ask([c.line.alice, 'X-Original-URI: /admin/users', 'X-Original-Method: GET']);
    const id = String(r.body['requestId']);
    expect(gw.audit.decisionsFor(id)).toEqual([expect.objectContaining({ kind: 'forward_auth', decision: 'Deny', action: 'orders:Admin' })]);
    const bad = await ask([c.line.alice, 'X-Original-URI: /public/%00', 'X-Original-Method: GET']);
    expect(gw.audit.decisionsFor(String(bad.body['requestId']))).toEqual([expect.objectContaining({ kind: 'forward_auth', reason: 'bad_path' })]);
  });

  // The broken chunk comes with the headers, so Node fails the body while the call is being decided.
  it('answers an allowed call whose chunked body breaks while it is decided with its 200 and its one record, never a 500', async () => {
    const before = gw.audit.events.length;
    const call = `POST /.iamgate/authz HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\nX-Original-URI: /public/readme\r\nX-Original-Method: GET\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nnot a chunk size\r\n`;
    const r = await exchange(c.port, call);
    const requestId = /\r\nx-iamgate-request-id: *([^\r]+)/i.exec(r.text)?.[1];
    expect([r.statuses, r.closedByServer]).toEqual([[200], true]);
    expect(gw.audit.events.slice(before).filter((e) => e.kind !== 'outcome')).toEqual([expect.objectContaining({ kind: 'forward_auth', decision: 'Allow', requestId })]);
  });
});
