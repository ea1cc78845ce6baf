// What serve asks about at start and how it names it: the upstream only where requests are
// forwarded to it, and Redis by its address without the password its URL carries.
import { describe, expect, it } from 'vitest';
import { upstreamToProbe } from '../../src/app/index.js';
import { redisTarget } from '../../src/app/redis.js';
import { DEFAULTS } from '../../src/config/index.js';
import { EXT_AUTHZ_DEFAULTS } from '../../src/extauthz/index.js';

const upstream = (url: string): Omit<typeof DEFAULTS.upstream, 'url'> & { url: string } => ({ ...DEFAULTS.upstream, url });
const grpc = { host: '0.0.0.0', port: 9191, peerIdentity: undefined, limits: EXT_AUTHZ_DEFAULTS.limits };

describe('the upstream serve asks at start', () => {
  it('is the upstream of a gateway that only proxies, even at its default address', () => {
    expect(upstreamToProbe({ upstream: upstream(DEFAULTS.upstream.url), forwardAuth: { enabled: false }, extAuthz: undefined })).toBe(DEFAULTS.upstream.url);
  });

  it('is none for a forward-auth or ext_authz deployment that leaves the upstream at its default, which it never forwards to', () => {
    expect(upstreamToProbe({ upstream: upstream(DEFAULTS.upstream.url), forwardAuth: { enabled: true }, extAuthz: undefined })).toBeUndefined();
    expect(upstreamToProbe({ upstream: upstream(DEFAULTS.upstream.url), forwardAuth: { enabled: false }, extAuthz: grpc })).toBeUndefined();
  });

  it('is the upstream a forward-auth deployment names, since it also proxies to it', () => {
    expect(upstreamToProbe({ upstream: upstream('http://127.0.0.1:8080'), forwardAuth: { enabled: true }, extAuthz: undefined })).toBe('http://127.0.0.1:8080');
  });
});

describe('Redis as the start-up warning names it', () => {
  it('is the address and the settings that give it, never the password in the URL', () => {
    expect(redisTarget({ url: 'redis://:s3cr3t@redis.shop.svc:6379/2', sentinel: undefined })).toBe('redis://redis.shop.svc:6379 (redis.url or REDIS_URL)');
    expect(redisTarget({ url: 'rediss://user:pw@[::1]:6380', sentinel: undefined })).toBe('rediss://[::1]:6380 (redis.url or REDIS_URL)');
  });

  it('is the primary name and redis.sentinel behind Sentinel', () => {
    expect(redisTarget({ url: 'redis://:pw@unused:6379/0', sentinel: { masterName: 'mymaster', nodes: [{ host: 's0', port: 26379 }] } })).toBe('mymaster through redis.sentinel');
  });
});
