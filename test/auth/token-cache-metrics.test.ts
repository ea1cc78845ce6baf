// The verified-token cache's size on /metrics of a gateway assembled as `iamgate serve` assembles
// it, called with real ES256 tokens: read at the scrape, it counts each Authorization value once
// and the bytes of those values.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedGateway, writePolicyFolder, type ServedGateway } from '../cache/served.js';
import { createTestKeys, type TestKeys } from '../support/tokens.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';

describe('the verified-token cache on /metrics', () => {
  let dir: string;
  let upstream: TestUpstream;
  let keys: TestKeys;
  let gw: ServedGateway;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-token-cache-'));
    await writePolicyFolder(join(dir, 'policies'), 'Allow');
    upstream = await startTestUpstream();
    keys = await createTestKeys();
    gw = await startServedGateway({ policies: join(dir, 'policies'), work: join(dir, 'work'), keys, upstreamUrl: upstream.url });
  });
  afterAll(async () => {
    await gw?.stop();
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The token cache gauges as one scrape shows them. */
  async function scraped(): Promise<{ entries: number; bytes: number }> {
    const text = await (await request(`${gw.opsUrl}/metrics`)).body.text();
    const gauge = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { entries: gauge('iamgate_token_cache_entries'), bytes: gauge('iamgate_token_cache_bytes') };
  }

  async function getOrder(authorization: string): Promise<number> {
    const res = await request(`${gw.url}/orders/1`, { headers: { authorization } });
    await res.body.dump();
    return res.statusCode;
  }

  it('shows how many verified tokens the cache keeps and the bytes of their Authorization values', async () => {
    expect(await scraped()).toEqual({ entries: 0, bytes: 0 });
    const alice = `Bearer ${await keys.token('alice')}`;
    const bob = `Bearer ${await keys.token('bob')}`;
    expect([await getOrder(alice), await getOrder(alice)]).toEqual([200, 200]);
    expect(await scraped()).toEqual({ entries: 1, bytes: alice.length });
    expect(await getOrder(bob)).toBe(403);
    expect(await scraped()).toEqual({ entries: 2, bytes: alice.length + bob.length });
    // A token that fails verification is never kept.
    expect(await getOrder(`${alice.slice(0, -4)}AAAA`)).toBe(401);
    expect(await scraped()).toEqual({ entries: 2, bytes: alice.length + bob.length });
  });
});
