import { describe, expect, it } from 'vitest';
import { buildRequestContext, compileTrustedProxies, sourceAddress, UNKNOWN_SOURCE_ADDRESS, type RequestFacts } from '../../src/gateway/context.js';
import type { RouteMatch } from '../../src/gateway/routes/index.js';
import type { Principal } from '../../src/identity/index.js';

describe('source address', () => {
  const trusted = compileTrustedProxies(['10.0.0.0/8', '::1']);

  it('is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(sourceAddress('198.51.100.7', ['X-Forwarded-For', '1.1.1.1'], trusted)).toBe('198.51.100.7');
  });

  it('is the right-most untrusted hop when the peer is trusted', () => {
    expect(sourceAddress('10.0.0.2', ['X-Forwarded-For', '1.1.1.1, 203.0.113.5, 10.0.0.9'], trusted)).toBe('203.0.113.5');
    expect(sourceAddress('::ffff:10.0.0.2', ['x-forwarded-for', '203.0.113.5', 'X-Forwarded-For', '10.1.1.1'], trusted)).toBe('203.0.113.5');
    expect(sourceAddress('::1', ['X-Forwarded-For', '2001:db8::1'], trusted)).toBe('2001:db8::1');
  });

  it('stops at a malformed hop instead of believing it, and leaves the address unknown rather than a trusted hop’s', () => {
    expect(sourceAddress('10.0.0.2', ['X-Forwarded-For', '1.1.1.1, not-an-ip, 10.0.0.9'], trusted)).toBe(UNKNOWN_SOURCE_ADDRESS);
    expect(sourceAddress('10.0.0.2', ['X-Forwarded-For', '203.0.113.5:4711'], trusted)).toBe(UNKNOWN_SOURCE_ADDRESS);
    expect(sourceAddress('10.0.0.2', [], trusted)).toBe('10.0.0.2');
  });

  it('is unknown, never empty, for a peer without an address', () => {
    expect(sourceAddress('', [], trusted)).toBe(UNKNOWN_SOURCE_ADDRESS);
    expect(sourceAddress('', ['X-Forwarded-For', '203.0.113.5'], trusted, true)).toBe(UNKNOWN_SOURCE_ADDRESS);
  });

  it('trusts nobody when no proxies are configured', () => {
    expect(compileTrustedProxies([]).has('127.0.0.1')).toBe(false);
  });
});

describe('request context', () => {
  const principal = {
    arn: 'arn:aws:iam::111122223333:user/alice',
    context: { 'aws:username': 'alice', 'aws:PrincipalTag/team': 'orders', 'orders:Client': 'from-principal' },
  } as unknown as Principal;
  const facts: RequestFacts = {
    requestId: 'r',
    method: 'GET',
    target: '/orders/7?status=open&dup=1&dup=2',
    rawHeaders: ['User-Agent', 'curl/8', 'X-Client', 'cli', 'X-Twice', 'a', 'x-twice', 'b'],
    peerAddress: '127.0.0.1',
    secure: false,
    now: Date.UTC(2026, 0, 31, 12, 0, 0, 500),
  };
  const match = (context: RouteMatch['context']): RouteMatch => ({
    action: 'orders:GetOrder',
    resource: 'arn:aws:orders:us-east-1:111122223333:order/7',
    route: 'GET /orders/:id',
    params: new Map([['id', '7']]),
    context,
  });

  it('names the global keys as AWS does, adds iamgate keys and the route keys', () => {
    const built = buildRequestContext(principal, facts, match([{ key: 'orders:Status', from: 'query', name: 'status' }]), '/orders/7', 'status=open&dup=1&dup=2', { sourceIp: '127.0.0.1', secure: false });
    expect(built.ok && Object.fromEntries(built.context)).toEqual({
      'aws:username': 'alice',
      'aws:principaltag/team': 'orders',
      'orders:client': 'from-principal',
      'aws:sourceip': '127.0.0.1',
      'aws:securetransport': false,
      'aws:currenttime': '2026-01-31T12:00:00Z',
      'aws:epochtime': 1769860800,
      'aws:principalisawsservice': false,
      'aws:viaawsservice': false,
      'aws:useragent': 'curl/8',
      'iamgate:method': 'GET',
      'iamgate:path': '/orders/7',
      'iamgate:route': 'GET /orders/:id',
      'iamgate:routeparam/id': '7',
      'orders:status': 'open',
    });
  });

  it('never lets a route key replace a key the principal set', () => {
    const built = buildRequestContext(principal, facts, match([{ key: 'orders:Client', from: 'header', name: 'x-client' }]), '/orders/7', undefined, { sourceIp: '127.0.0.1', secure: false });
    expect(built.ok && built.context.get('orders:client')).toBe('from-principal');
  });

  it('refuses a key whose parameter or header appears twice', () => {
    expect(buildRequestContext(principal, facts, match([{ key: 'orders:Dup', from: 'query', name: 'dup' }]), '/orders/7', 'dup=1&dup=2', { sourceIp: '', secure: false })).toEqual({ ok: false, key: 'orders:Dup' });
    expect(buildRequestContext(principal, facts, match([{ key: 'orders:Twice', from: 'header', name: 'x-twice' }]), '/orders/7', undefined, { sourceIp: '', secure: false })).toEqual({ ok: false, key: 'orders:Twice' });
  });

  it('builds only the keys the policies read, so aws:CurrentTime is formatted only when one reads it', () => {
    const route = match([{ key: 'orders:Status', from: 'query', name: 'status' }]);
    const network = { sourceIp: '127.0.0.1', secure: false };
    const reads = new Set(['aws:username', 'iamgate:routeparam/id', 'orders:status']);
    const built = buildRequestContext(principal, facts, route, '/orders/7', 'status=open', network, undefined, reads);
    expect(built.ok && Object.fromEntries(built.context)).toEqual({ 'aws:username': 'alice', 'iamgate:routeparam/id': '7', 'orders:status': 'open' });
    const timed = buildRequestContext(principal, facts, route, '/orders/7', 'status=open', network, undefined, new Set(['aws:currenttime']));
    expect(timed.ok && Object.fromEntries(timed.context)).toEqual({ 'aws:currenttime': '2026-01-31T12:00:00Z' });
    const none = buildRequestContext(principal, facts, route, '/orders/7', 'status=open', network, undefined, new Set());
    expect(none.ok && none.context.size).toBe(0);
  });

  it('says aws:PrincipalIsAWSService and aws:ViaAWSService are false, as AWS does on every signed request', () => {
    const reads = new Set(['aws:principalisawsservice', 'aws:viaawsservice']);
    const built = buildRequestContext(principal, facts, match([]), '/orders/7', undefined, { sourceIp: '127.0.0.1', secure: false }, undefined, reads);
    expect(built.ok && Object.fromEntries(built.context)).toEqual({ 'aws:principalisawsservice': false, 'aws:viaawsservice': false });
  });

  it('refuses a twice-given route key even when no policy reads it', () => {
    const built = buildRequestContext(principal, facts, match([{ key: 'orders:Twice', from: 'header', name: 'x-twice' }]), '/orders/7', undefined, { sourceIp: '', secure: false }, undefined, new Set());
    expect(built).toEqual({ ok: false, key: 'orders:Twice' });
  });
});
