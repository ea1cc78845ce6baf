import { describe, expect, it } from 'vitest';
import { clientResponseHeaders, upstreamRequestHeaders, type RequestHeaderOptions } from '../../src/proxy/headers.js';

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

describe('client response headers', () => {
  it('removes hop-by-hop headers and those the Connection header names, keeps repeated headers', () => {
    const raw = ['Connection', 'keep-alive, X-Secret', 'X-Secret', '1', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'].map((s) => Buffer.from(s));
    expect(clientResponseHeaders(raw, 'r-1')).toEqual(['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'x-iamgate-request-id', 'r-1']);
  });
});
