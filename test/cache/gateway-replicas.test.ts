// Two gateways assembled as `iamgate serve` assembles them, sharing one real redis-server and one
// policy folder (as pods share a ConfigMap). Only A watches the files; B learns of a change only
// through A's generation announcement over Redis, and reloads then. After a change from allow to
// deny, B serves the deny within a bounded time and, once it has, never an allow again — not from
// its in-process level, not from Redis, where the old allow is still stored.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ordersPolicy, useServedPair, writePolicyFolder } from './served.js';
import { until } from '../support/until.js';

/** Every lookup goes to Redis too (no minimum evaluation cost), so L2 entries exist to go stale. */
const CACHE = { cache: { l2: { minEvalMicros: 0 } } };

const pair = useServedPair({
  prefix: 'iamgate-replicas-',
  writePolicies: (folder) => writePolicyFolder(folder, 'Allow'),
  a: { config: { ...CACHE, policies: { watch: true } } },
  b: { config: { ...CACHE, policies: { watch: false } } },
});

describe('two gateways sharing one Redis', () => {
  it('share decisions: what one stored in Redis, the other answers from it', async () => {
    const { a, b } = pair;
    await until('A and B give alice her order', async () => (await a.getOrder('alice')) === 200 && (await b.getOrder('alice')) === 200);
    // Warm both levels on both instances.
    for (let i = 0; i < 5; i++) {
      expect(await a.getOrder('alice')).toBe(200);
      expect(await b.getOrder('alice')).toBe(200);
    }
    expect(await b.metric('iamgate_decision_cache_lookups_total', 'result="hit_l1"')).toBeGreaterThan(0);
    expect(await a.metric('iamgate_decision_cache_lookups_total', 'result="hit_l2"') + (await b.metric('iamgate_decision_cache_lookups_total', 'result="hit_l2"'))).toBeGreaterThan(0);
  });

  it('honour a change made on one: allow turned into deny reaches the other, and no stale allow follows', async () => {
    const { a, b, dir } = pair;
    const bReloadsBefore = await b.metric('iamgate_policy_reloads_total', 'result="success"');
    await writeFile(join(dir, 'policies', 'policies', 'orders.json'), ordersPolicy('Deny'));

    // A sees the change on disk and reloads.
    await until('A refuses alice her order', async () => (await a.getOrder('alice')) === 403);
    // B does not watch: it reloads when A's announcement arrives. Until then it may still allow.
    const started = Date.now();
    let firstDeny: number | undefined;
    const afterDeny: number[] = [];
    while (Date.now() - started < 10_000 && afterDeny.length < 200) {
      const status = await b.getOrder('alice');
      if (firstDeny === undefined && status === 403) firstDeny = Date.now() - started;
      else if (firstDeny !== undefined) afterDeny.push(status);
    }
    expect(firstDeny).toBeDefined();
    expect(afterDeny.length).toBeGreaterThan(0);
    expect(afterDeny.filter((s) => s !== 403)).toEqual([]);
    expect(await b.metric('iamgate_policy_reloads_total', 'result="success"')).toBeGreaterThan(bReloadsBefore);
    // Both keep denying from here on, from every level.
    for (let i = 0; i < 5; i++) {
      expect(await a.getOrder('alice')).toBe(403);
      expect(await b.getOrder('alice')).toBe(403);
    }
    expect(await a.getOrder('bob')).toBe(403);
  });

  it('honour the change back: deny turned into allow reaches the other too', async () => {
    const { a, b, dir } = pair;
    const bReloadsBefore = await b.metric('iamgate_policy_reloads_total', 'result="success"');
    await writeFile(join(dir, 'policies', 'policies', 'orders.json'), ordersPolicy('Allow'));
    await until('A gives alice her order', async () => (await a.getOrder('alice')) === 200);
    await until('B gives alice her order', async () => (await b.getOrder('alice')) === 200);
    expect(await b.metric('iamgate_policy_reloads_total', 'result="success"')).toBeGreaterThan(bReloadsBefore);
  });
});
