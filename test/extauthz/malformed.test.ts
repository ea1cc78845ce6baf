import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { body, checkOf, requestIdOf, useExtAuthzGateway } from './check.js';

/** The gRPC status code iamgate pairs with each HTTP status it denies with. */
const GRPC_CODE_OF: Readonly<Record<number, number>> = { 400: 3 };

/** A GET with the request target sent byte for byte (a URL string would resolve dot segments first). */
function rawGet(base: string, target: string, authorization: string): Promise<{ status: number; code: unknown }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: target, headers: { authorization }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { code?: unknown }).code }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('malformed ext_authz checks', () => {
  const { gw, client } = useExtAuthzGateway();

  const badPaths: readonly [string, string][] = [
    ['dot segments above the root', '/../admin'],
    ['percent-encoded dot segments above the root', '/orders/%2e%2e/%2E%2E/admin'],
    ['an encoded slash', '/orders/a%2fb'],
    ['an encoded backslash', '/orders/a%5Cb'],
    ['a double-encoded dot segment', '/orders/%252e%252e/admin'],
    ['fullwidth full stops standing for a dot segment', '/orders/%EF%BC%8E%EF%BC%8E/admin'],
    ['a fullwidth solidus standing for a slash', '/orders/a%EF%BC%8Fb'],
    ['a fragment', '/orders/1#x'],
  ];

  it.each(badPaths)('denies a path with %s as the HTTP gateway does, with INVALID_ARGUMENT and one audit record', async (_what, target) => {
    const authorization = await gw.bearer('alice');
    const viaHttp = await rawGet(gw.url, target, authorization);
    const answer = await client().check(checkOf({ path: target, headers: { authorization } }));
    expect(viaHttp.status).toBe(400);
    expect(answer.denied_response?.status?.code).toBe(viaHttp.status);
    expect(body(answer)['code']).toBe(viaHttp.code);
    expect(answer.status?.code).toBe(GRPC_CODE_OF[viaHttp.status]);
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 400 })]);
  });

  it('denies raw UTF-8 in a path with 400 and one audit record, as the HTTP gateway refuses such a target', async () => {
    const authorization = await gw.bearer('alice');
    for (const target of ['/orders/．．/admin', '/orders/a／b', '/orders/café']) {
      const viaHttp = await rawGet(gw.url, Buffer.from(target, 'utf8').toString('latin1'), authorization);
      const answer = await client().check(checkOf({ path: target, headers: { authorization } }));
      expect(viaHttp.status, target).toBe(400);
      expect(answer.denied_response?.status?.code, target).toBe(400);
      expect(answer.status?.code, target).toBe(GRPC_CODE_OF[400]);
      expect(gw.audit.decisionsFor(requestIdOf(answer)), target).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 400 })]);
    }
  });

  it('denies a request target longer than the gateway accepts as the HTTP gateway does', async () => {
    const authorization = await gw.bearer('alice');
    const target = `/orders/${'a'.repeat(gw.config.limits.maxTargetLength)}`;
    const viaHttp = await rawGet(gw.url, target, authorization);
    const answer = await client().check(checkOf({ path: target, headers: { authorization } }));
    expect(answer.denied_response?.status?.code).toBe(viaHttp.status);
    expect(body(answer)['code']).toBe(viaHttp.code);
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toHaveLength(1);
  });
});
