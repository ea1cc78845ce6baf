// The public key sets iamgate serves on the gateway port (`/.well-known/jwks.json` for its session
// tokens, `/.well-known/iamgate-assertion-jwks.json` for the identity assertion) are answers of
// the gateway like any other: each has a request id and exactly one record, so a caller reading
// them without end is seen in the trail as every other caller is.
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { decisionsFor, readTrail } from '../audit/served.js';
import { useTestGateway } from '../support/gateway.js';
import { until } from '../support/until.js';
import { useServedGateway } from './support/served.js';

describe('the session tokens’ public keys on the gateway port of the served gateway', () => {
  const gateway = useServedGateway();

  it('answers each read with a request id and exactly one record', async () => {
    const ids: string[] = [];
    for (const method of ['GET', 'HEAD', 'GET']) {
      const res = await request(`${gateway.served.gateway.url}/.well-known/jwks.json`, { method });
      const text = await res.body.text();
      expect(res.statusCode).toBe(200);
      if (method === 'GET') expect((JSON.parse(text) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
      const id = res.headers['x-iamgate-request-id'];
      expect(typeof id).toBe('string');
      ids.push(id as string);
    }
    // Each record is written before its answer; the trail is read once they are all there.
    await until('a record for each read', async () => {
      const trail = await readTrail(gateway.files.trail);
      return ids.every((id) => decisionsFor(trail, id).length > 0);
    });
    const trail = await readTrail(gateway.files.trail);
    for (const id of ids) {
      const records = decisionsFor(trail, id);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ kind: 'request', path: '/.well-known/jwks.json', decision: 'Allow', reason: 'public_keys', status: 200, sourceIp: '127.0.0.1' });
    }
  });
});

describe('the identity assertion’s public keys on the gateway port', () => {
  const gw = useTestGateway({ config: { assertion: { audience: 'orders-service' } } });

  it('answers each read with a request id and exactly one record', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await request(`${gw.url}/.well-known/iamgate-assertion-jwks.json`, { method });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      const id = res.headers['x-iamgate-request-id'];
      expect(typeof id).toBe('string');
      expect(gw.audit.decisionsFor(id as string)).toMatchObject([{ kind: 'request', method, path: '/.well-known/iamgate-assertion-jwks.json', decision: 'Allow', reason: 'public_keys', status: 200 }]);
    }
  });
});
