// The request path's counters are plain numbers added to prom-client's counters at each scrape:
// what a scrape shows is every count so far, once, together with increments made directly.
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from '../../src/gateway/metrics.js';

async function value(metrics: ReturnType<typeof createGatewayMetrics>, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const found = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value;
}

describe('gateway metrics counted on the request path', () => {
  it('shows each count once across scrapes, added to direct increments', async () => {
    const metrics = createGatewayMetrics();
    metrics.count.request('allowed');
    metrics.count.request('allowed');
    metrics.count.request('denied');
    metrics.requests.inc({ outcome: 'allowed' });
    expect(await value(metrics, 'iamgate_requests_total', { outcome: 'allowed' })).toBe(3);
    expect(await value(metrics, 'iamgate_requests_total', { outcome: 'allowed' })).toBe(3);
    metrics.count.request('allowed');
    expect(await value(metrics, 'iamgate_requests_total', { outcome: 'allowed' })).toBe(4);
    expect(await value(metrics, 'iamgate_requests_total', { outcome: 'denied' })).toBe(1);
  });

  it('keeps two-label counts apart by both values', async () => {
    const metrics = createGatewayMetrics();
    metrics.count.decision('Allow', 'allowed');
    metrics.count.decision('ImplicitDeny', 'implicit_deny');
    metrics.count.decision('ImplicitDeny', 'no_route');
    metrics.count.decision('ImplicitDeny', 'no_route');
    metrics.count.cacheLookup('hit_l1');
    expect(await value(metrics, 'iamgate_decisions_total', { decision: 'ImplicitDeny', reason: 'no_route' })).toBe(2);
    expect(await value(metrics, 'iamgate_decisions_total', { decision: 'ImplicitDeny', reason: 'implicit_deny' })).toBe(1);
    expect(await value(metrics, 'iamgate_decisions_total', { decision: 'Allow', reason: 'allowed' })).toBe(1);
    expect(await value(metrics, 'iamgate_decision_cache_lookups_total', { result: 'hit_l1' })).toBe(1);
  });
});
