// The request path's counters and latency histograms are plain numbers read at each scrape: what
// a scrape shows is every count so far, once, together with increments made directly, in the
// exposition prom-client's own counters and histograms would write.
import { Histogram, Registry } from 'prom-client';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from '../../src/gateway/metrics.js';
import { useTestGateway } from '../support/gateway.js';

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

/** A histogram family's part of a registry's text exposition (its HELP, TYPE and sample lines). */
function familyText(text: string, family: string): string {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`# HELP ${family} `) || l.startsWith(`# TYPE ${family} `) || /^(\w+)/.exec(l)?.[1]?.replace(/_(bucket|sum|count)$/, '') === family)
    .join('\n');
}

describe('gateway latency histograms counted on the request path', () => {
  it('write the same exposition as prom-client histograms given the same observations, scrape after scrape', async () => {
    const metrics = createGatewayMetrics();
    const reference = new Registry();
    const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    const total = new Histogram({ name: 'iamgate_request_duration_seconds', help: 'Time from arrival to the end of the answer', buckets, registers: [reference] });
    const decision = new Histogram({ name: 'iamgate_decision_duration_seconds', help: 'Time to decide (cache lookup and evaluation)', buckets, registers: [reference] });
    const upstream = new Histogram({ name: 'iamgate_upstream_duration_seconds', help: 'Time from forwarding to the end of the upstream response', labelNames: ['outcome'], buckets, registers: [reference] });
    const compare = async (): Promise<void> => {
      const [ours, theirs] = [await metrics.registry.metrics(), await reference.metrics()];
      for (const family of ['iamgate_request_duration_seconds', 'iamgate_decision_duration_seconds', 'iamgate_upstream_duration_seconds']) {
        expect(familyText(theirs, family)).toContain(`# TYPE ${family} histogram`);
        expect(familyText(ours, family), family).toBe(familyText(theirs, family));
      }
    };
    await compare();
    // Bounds themselves (a bucket's upper bound is inclusive), between them, below the first, above the last, and sums that round.
    const first = [0.0001, 0.00005, 0.00025, 0.0003, 0.001, 0.0049999, 0.1, 0.2, 0.30000000000000004, 3, 10, 11, 0];
    for (const s of first) {
      metrics.totalSeconds.observe(s);
      total.observe(s);
    }
    metrics.decisionSeconds.observe(0.0007);
    decision.observe(0.0007);
    for (const [outcome, s] of [['upstream_timeout', 1], ['completed', 0.0004], ['completed', 0.00025], ['client_closed', 0.02]] as const) {
      metrics.upstreamSeconds.observe({ outcome }, s);
      upstream.observe({ outcome }, s);
    }
    await compare();
    await compare();
    for (const s of [0.1, 0.7, 2.5, 0.000001]) {
      metrics.totalSeconds.observe(s);
      total.observe(s);
      metrics.upstreamSeconds.observe({ outcome: 'completed' }, s);
      upstream.observe({ outcome: 'completed' }, s);
    }
    await compare();
    const text = await metrics.registry.metrics();
    expect(familyText(text, 'iamgate_request_duration_seconds')).toContain('iamgate_request_duration_seconds_count 17');
    expect(familyText(text, 'iamgate_upstream_duration_seconds')).toContain('iamgate_upstream_duration_seconds_count{outcome="completed"} 6');
  });
});

/** One sample line of the text exposition: its name, its label text as written, and its value. */
interface Line {
  readonly name: string;
  readonly labels: string;
  readonly value: number;
}

/** The lines of one family (HELP, TYPE, then its samples), as `/metrics` writes them. */
function familyLines(text: string, family: string): { comments: string[]; samples: Line[] } {
  const comments: string[] = [];
  const samples: Line[] = [];
  for (const line of text.split('\n')) {
    if (line === `# HELP ${family}` || line.startsWith(`# HELP ${family} `) || line.startsWith(`# TYPE ${family} `)) comments.push(line);
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && [`${family}_bucket`, `${family}_sum`, `${family}_count`].includes(m[1]!)) samples.push({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  return { comments, samples };
}

/** The bucket bounds `/metrics` has always shown for iamgate's latency histograms. */
const BOUNDS = ['0.0001', '0.00025', '0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];

/** The names and labels of one series' lines, in the order they are written. */
function seriesShape(family: string, labels: string): Array<Omit<Line, 'value'>> {
  const extra = labels === '' ? '' : `,${labels}`;
  return [
    ...BOUNDS.map((le) => ({ name: `${family}_bucket`, labels: `{le="${le}"${extra}}` })),
    { name: `${family}_sum`, labels: labels === '' ? '' : `{${labels}}` },
    { name: `${family}_count`, labels: labels === '' ? '' : `{${labels}}` },
  ];
}

/**
 * A series' values: cumulative buckets that hold all `count` observations from the first bound
 * at or above `longest` seconds, and a sum no larger than `count × longest`.
 */
function expectSeriesValues(lines: readonly Line[], count: number, longest: number): void {
  const buckets = lines.slice(0, BOUNDS.length);
  for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
  BOUNDS.forEach((le, i) => {
    if (le === '+Inf' || Number(le) >= longest) expect(buckets[i]!.value, `le=${le}`).toBe(count);
  });
  const [sum, total] = lines.slice(BOUNDS.length);
  expect(sum!.value).toBeGreaterThan(0);
  expect(sum!.value).toBeLessThanOrEqual(count * longest);
  expect(total!.value).toBe(count);
}

describe('latency histograms scraped from a running gateway', () => {
  const gw = useTestGateway();

  it('show every request once, under the names, help, labels and buckets that /metrics has always had', async () => {
    const started = performance.now();
    const alice = await gw.bearer('alice');
    await (await request(`${gw.url}/orders/1`, { headers: { authorization: alice } })).body.dump();
    await (await request(`${gw.url}/orders/2`, { headers: { authorization: alice } })).body.dump();
    await (await request(`${gw.url}/orders/secret`, { headers: { authorization: await gw.bearer('bob') } })).body.dump();
    await (await request(`${gw.url}/orders/1`)).body.dump();
    const timedOut = await request(`${gw.url}/slow?ms=5000`, { headers: { authorization: alice } });
    await timedOut.body.dump();
    expect(timedOut.statusCode).toBe(504);
    const longest = (performance.now() - started) / 1000;
    const text = await (await request(`${gw.opsUrl}/metrics`)).body.text();

    const total = familyLines(text, 'iamgate_request_duration_seconds');
    expect(total.comments).toEqual(['# HELP iamgate_request_duration_seconds Time from arrival to the end of the answer', '# TYPE iamgate_request_duration_seconds histogram']);
    expect(total.samples.map(({ name, labels }) => ({ name, labels }))).toEqual(seriesShape('iamgate_request_duration_seconds', ''));
    expectSeriesValues(total.samples, 5, longest);

    const decision = familyLines(text, 'iamgate_decision_duration_seconds');
    expect(decision.comments).toEqual(['# HELP iamgate_decision_duration_seconds Time to decide (cache lookup and evaluation)', '# TYPE iamgate_decision_duration_seconds histogram']);
    expect(decision.samples.map(({ name, labels }) => ({ name, labels }))).toEqual(seriesShape('iamgate_decision_duration_seconds', ''));
    expectSeriesValues(decision.samples, 4, longest);

    // One series per outcome, in the order each outcome first happened.
    const upstream = familyLines(text, 'iamgate_upstream_duration_seconds');
    expect(upstream.comments).toEqual(['# HELP iamgate_upstream_duration_seconds Time from forwarding to the end of the upstream response', '# TYPE iamgate_upstream_duration_seconds histogram']);
    expect(upstream.samples.map(({ name, labels }) => ({ name, labels }))).toEqual([
      ...seriesShape('iamgate_upstream_duration_seconds', 'outcome="completed"'),
      ...seriesShape('iamgate_upstream_duration_seconds', 'outcome="upstream_timeout"'),
    ]);
    const series = BOUNDS.length + 2;
    expectSeriesValues(upstream.samples.slice(0, series), 2, longest);
    expectSeriesValues(upstream.samples.slice(series), 1, longest);
    // The timed-out forward waited for the upstream's headers timeout (1 s): never in a bucket below it.
    expect(upstream.samples[series + BOUNDS.indexOf('0.5')]!.value).toBe(0);
  });
});
