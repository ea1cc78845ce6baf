import { describe, expect, it } from 'vitest';
import type { RequestHeaderOptions } from '../../src/proxy/headers.js';
import { createRequestHeaderPlan, upstreamRequestHeaders, type RequestHeaderFacts, type RequestHeaderRules } from '../../src/proxy/request-headers.js';
import { clientResponseHeaders, createResponseHeaderNames, namesNoLength, responseHeaderList } from '../../src/proxy/response-headers.js';

const BASE: RequestHeaderOptions = { forwardAuthorization: false, trustedPeer: false, peerAddress: '10.0.0.5', proto: 'http', preserveHost: true, identity: undefined, passThrough: new Set() };

function asObject(flat: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (out[flat[i]!.toLowerCase()] ??= []).push(flat[i + 1]!);
  return out;
}

describe('upstream request headers', () => {
  const raw = ['Host', 'api.example', 'X-Forwarded-For', '1.2.3.4', 'X-Forwarded-Proto', 'https', 'X-Real-IP', '1.2.3.4', 'Authorization', 'Bearer t', 'X-IAMGATE-Principal', 'spoof', 'Keep-Alive', '5', 'Accept', '*/*'];

  it('drops forwarding headers from an untrusted peer and sets its own', () => {
    const h = asObject(upstreamRequestHeaders(raw, BASE));
    expect(h['x-forwarded-for']).toEqual(['10.0.0.5']);
    expect(h['x-forwarded-proto']).toEqual(['http']);
    expect(h['x-forwarded-host']).toEqual(['api.example']);
    expect(h['x-real-ip']).toBeUndefined();
    expect(h['authorization']).toBeUndefined();
    expect(h['x-iamgate-principal']).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h['accept']).toEqual(['*/*']);
    expect(h['host']).toEqual(['api.example']);
  });

  it('extends the forwarding headers of a trusted peer', () => {
    const h = asObject(upstreamRequestHeaders(raw, { ...BASE, trustedPeer: true }));
    expect(h['x-forwarded-for']).toEqual(['1.2.3.4, 10.0.0.5']);
    expect(h['x-forwarded-proto']).toEqual(['https']);
    expect(h['x-real-ip']).toEqual(['1.2.3.4']);
  });

  it('forwards Authorization only when configured, and drops Host unless preserved', () => {
    const h = asObject(upstreamRequestHeaders(raw, { ...BASE, forwardAuthorization: true, preserveHost: false }));
    expect(h['authorization']).toEqual(['Bearer t']);
    expect(h['host']).toBeUndefined();
  });

  it('drops headers describing another request even from a trusted peer', () => {
    const describing = ['X-Forwarded-Prefix', '/admin', 'X-Envoy-Original-Path', '/admin', 'X-Original-Method', 'DELETE', 'X-Original-Host', 'admin.internal', 'Accept', '*/*'];
    const h = asObject(upstreamRequestHeaders(describing, { ...BASE, trustedPeer: true }));
    expect(Object.keys(h).sort()).toEqual(['accept', 'x-forwarded-for', 'x-forwarded-proto']);
  });

  it('drops the caller’s identity headers, by name and by family, except those passed through', () => {
    const forged = ['Remote-User', 'mallory', 'X-Amzn-Oidc-Data', 'jwt', 'X-Forwarded-User', 'mallory', 'X-Consumer-Username', 'mallory', 'X-User-Agent', 'grpc-web'];
    const dropped = asObject(upstreamRequestHeaders(forged, BASE));
    expect(Object.keys(dropped).sort()).toEqual(['x-forwarded-for', 'x-forwarded-proto', 'x-user-agent']);
    const passed = asObject(upstreamRequestHeaders(forged, { ...BASE, passThrough: new Set(['remote-user', 'x-amzn-oidc-data']) }));
    expect(passed['remote-user']).toEqual(['mallory']);
    expect(passed['x-amzn-oidc-data']).toEqual(['jwt']);
    expect(passed['x-forwarded-user']).toBeUndefined();
  });

  it('adds the verified identity after removing any the caller sent', () => {
    const identity = { principal: 'arn:aws:sts::111122223333:assumed-role/ops/s1', account: '111122223333', session: 's1', mfa: true, requestId: 'r-9' };
    const h = asObject(upstreamRequestHeaders(raw, { ...BASE, identity }));
    expect(h['x-iamgate-principal']).toEqual([identity.principal]);
    expect(h['x-iamgate-session']).toEqual(['s1']);
    expect(h['x-iamgate-account']).toEqual(['111122223333']);
    expect(h['x-iamgate-mfa']).toEqual(['true']);
    expect(h['x-iamgate-request-id']).toEqual(['r-9']);
  });
});

describe('upstream request headers from a prepared plan', () => {
  const RULES: RequestHeaderRules = { forwardAuthorization: false, preserveHost: true, passThrough: new Set(), assertionHeader: 'x-iamgate-assertion', replacesTrace: true };
  const FACTS: RequestHeaderFacts = { trustedPeer: false, peerAddress: '10.0.0.5', proto: 'http', identity: undefined, requestId: 'r-1', assertion: undefined, trace: undefined };
  const alice = { arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', mfa: false };
  const ops = { arn: 'arn:aws:sts::444455556666:assumed-role/ops/s1', accountId: '444455556666', sessionName: 's1', mfa: true };

  it('drops a header the Connection header lists even when it came first, and merges no listed forwarding header', () => {
    const plan = createRequestHeaderPlan(RULES);
    const raw = ['X-Secret', '1', 'X-Forwarded-For', '1.2.3.4', 'Host', 'api.example', 'Accept', '*/*', 'Connection', 'close, X-Secret, x-forwarded-for, host'];
    const h = plan.build(raw, { ...FACTS, trustedPeer: true });
    expect(h).toEqual(['x-forwarded-for', '10.0.0.5', 'x-forwarded-proto', 'http', 'Accept', '*/*']);
  });

  it('sends each caller its own identity, request after request', () => {
    const plan = createRequestHeaderPlan(RULES);
    const first = asObject(plan.build([], { ...FACTS, identity: alice, requestId: 'r-1' }));
    const other = asObject(plan.build([], { ...FACTS, identity: ops, requestId: 'r-2' }));
    const again = asObject(plan.build([], { ...FACTS, identity: alice, requestId: 'r-3' }));
    expect(first).toMatchObject({ 'x-iamgate-principal': [alice.arn], 'x-iamgate-account': [alice.accountId], 'x-iamgate-mfa': ['false'], 'x-iamgate-request-id': ['r-1'] });
    expect(first['x-iamgate-session']).toBeUndefined();
    expect(other).toMatchObject({ 'x-iamgate-principal': [ops.arn], 'x-iamgate-account': [ops.accountId], 'x-iamgate-mfa': ['true'], 'x-iamgate-session': ['s1'], 'x-iamgate-request-id': ['r-2'] });
    expect(again).toEqual({ ...first, 'x-iamgate-request-id': ['r-3'] });
  });

  it('puts its own headers first: forwarding, identity, request id, assertion, trace, then the caller’s', () => {
    const plan = createRequestHeaderPlan(RULES);
    const raw = ['Accept', '*/*', 'X-Iamgate-Assertion', 'forged', 'traceparent', '00-forged', 'Host', 'api.example'];
    const h = plan.build(raw, { ...FACTS, identity: alice, requestId: 'r-7', assertion: 'jwt', trace: { traceparent: '00-mine', tracestate: 'k=v' } });
    expect(h.filter((_, i) => i % 2 === 0)).toEqual([
      'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-iamgate-principal', 'x-iamgate-account', 'x-iamgate-mfa', 'x-iamgate-request-id', 'x-iamgate-assertion', 'traceparent', 'tracestate', 'Accept', 'Host',
    ]);
    expect(asObject(h)).toMatchObject({ 'x-iamgate-assertion': ['jwt'], traceparent: ['00-mine'] });
  });

  it('drops a withheld header in every spelling, also past the names it remembers', () => {
    const plan = createRequestHeaderPlan(RULES);
    for (const spelling of ['Authorization', 'AUTHORIZATION', 'authorization', 'Authorization']) {
      expect(asObject(plan.build([spelling, 'Bearer t', 'X-Kept', 'yes'], FACTS))).toEqual({ 'x-forwarded-for': ['10.0.0.5'], 'x-forwarded-proto': ['http'], 'x-kept': ['yes'] });
    }
    const filler = Array.from({ length: 1100 }, (_, i) => [`x-f${i}`, String(i)]).flat();
    expect(plan.build(filler, FACTS)).toHaveLength(4 + filler.length);
    const late = ['Remote-User', 'mallory', 'X-Consumer-Late', 'mallory', 'X_Late', 'x', 'X-Kept-Late', 'yes'];
    expect(asObject(plan.build(late, FACTS))).toEqual({ 'x-forwarded-for': ['10.0.0.5'], 'x-forwarded-proto': ['http'], 'x-kept-late': ['yes'] });
  });
});

describe('client response headers', () => {
  it('keeps names as the upstream wrote them, drops what its Connection header lists wherever it stands, and replaces its request id', () => {
    const raw = ['X-Secret', '1', 'Content-Type', 'text/plain', 'X-Iamgate-Request-Id', 'forged', 'Keep-Alive', 'timeout=5', 'Connection', 'X-Secret'].map((s) => Buffer.from(s, 'latin1'));
    const names = createResponseHeaderNames();
    for (const id of ['r-1', 'r-2']) expect(responseHeaderList(raw, id, names)).toEqual(['Content-Type', 'text/plain', 'x-iamgate-request-id', id]);
  });

  it('passes bytes above ASCII through as Latin-1, as Node writes them', () => {
    const raw = [Buffer.from('X-Name'), Buffer.from([0x63, 0x61, 0x66, 0xe9])];
    expect(responseHeaderList(raw, 'r-1', createResponseHeaderNames())).toEqual(['X-Name', 'café', 'x-iamgate-request-id', 'r-1']);
  });

  it('notes the Content-Length the caller is told, and none when it is absent, repeated, not a plain number or listed as hop-by-hop', () => {
    const noted = (...pairs: string[]): number => {
      const length = { declaredLength: 7 };
      responseHeaderList(pairs.map((s) => Buffer.from(s)), 'r-1', createResponseHeaderNames(), length);
      return length.declaredLength;
    };
    expect(noted('Content-Type', 'text/plain', 'Content-Length', '2')).toBe(2);
    expect(noted('content-length', '0')).toBe(0);
    expect(noted('Content-Type', 'text/plain')).toBe(-1);
    expect(noted('Content-Length', '2', 'Content-Length', '2')).toBe(-1);
    expect(noted('Content-Length', '2, 2')).toBe(-1);
    expect(noted('Content-Length', ' 2')).toBe(-1);
    expect(noted('Content-Length', '2', 'Connection', 'content-length')).toBe(-1);
    const kept = responseHeaderList([Buffer.from('Content-Length'), Buffer.from('2')], 'r-1', createResponseHeaderNames(), { declaredLength: -1 });
    expect(kept).toEqual(['Content-Length', '2', 'x-iamgate-request-id', 'r-1']);
  });

  it('drops the Content-Length of an answer that names no length (a 204 or 101) and notes none, where a 304 keeps it', () => {
    const raw = ['ETag', '"v1"', 'Content-Length', '9'].map((s) => Buffer.from(s));
    const length = { declaredLength: 7 };
    expect(responseHeaderList(raw, 'r-1', createResponseHeaderNames(), length, namesNoLength(204))).toEqual(['ETag', '"v1"', 'x-iamgate-request-id', 'r-1']);
    expect(length.declaredLength).toBe(-1);
    expect(clientResponseHeaders(raw, 'r-1', false, namesNoLength(304))).toEqual(['ETag', '"v1"', 'Content-Length', '9', 'x-iamgate-request-id', 'r-1']);
    const upgrade = ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Content-Length', '9'].map((s) => Buffer.from(s));
    expect(clientResponseHeaders(upgrade, 'r-1', true)).toEqual(['Upgrade', 'websocket', 'Connection', 'Upgrade', 'x-iamgate-request-id', 'r-1']);
  });

  it('removes hop-by-hop headers and those the Connection header names, keeps repeated headers', () => {
    const raw = ['Connection', 'keep-alive, X-Secret', 'X-Secret', '1', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'].map((s) => Buffer.from(s));
    expect(clientResponseHeaders(raw, 'r-1')).toEqual(['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'x-iamgate-request-id', 'r-1']);
  });
});
