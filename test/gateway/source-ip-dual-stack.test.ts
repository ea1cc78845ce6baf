// aws:SourceIp on a dual-stack listener: Node reports an IPv4 caller as `::ffff:127.0.0.1`, which
// is the IPv4 address 127.0.0.1 to a policy (`IpAddress 127.0.0.0/8` holds, an IPv4-only range
// elsewhere does not), to the trusted-proxy list and to the audit record.
import { describe, expect, it } from 'vitest';
import { ADVERSARIAL_FIXTURES } from '../adversarial/support/fixtures.js';
import { useTestGateway } from '../support/gateway.js';
import { rawRequest } from '../support/net.js';

describe('aws:SourceIp of a caller reaching a dual-stack listener over IPv4', () => {
  const gw = useTestGateway({ files: ADVERSARIAL_FIXTURES, config: { listen: { host: '::', port: 0 }, trustedProxies: ['127.0.0.1'] } });

  const get = async (target: string, headers: Record<string, string> = {}) => {
    const port = new URL(gw.url).port;
    return rawRequest(`http://127.0.0.1:${port}${target}`, { headers: { authorization: await gw.bearer('alice'), ...headers } });
  };

  it('is the plain IPv4 address, inside a policy’s IPv4 range and in the audit record', async () => {
    const before = gw.audit.events.length;
    expect((await get('/internal/1')).status).toBe(200);
    expect(gw.audit.events.slice(before).map((e) => e.sourceIp)).toEqual(['127.0.0.1']);
  });

  it('makes the peer a trusted proxy listed by its IPv4 address, so its X-Forwarded-For entry is the caller', async () => {
    expect((await get('/reports/1', { 'x-forwarded-for': '203.0.113.5' })).status).toBe(200);
    expect((await get('/internal/1', { 'x-forwarded-for': '203.0.113.5' })).status).toBe(403);
  });
});
