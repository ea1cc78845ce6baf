// Prometheus metrics for one gateway instance, on its own registry (never prom-client's global
// one), so several gateways in one process — tests, or a future multi-upstream mode — stay apart.
// The counters every request touches are kept as plain numbers per label set (`count`) and added
// to prom-client's counters when /metrics is scraped: a request pays a Map lookup and an
// increment, not prom-client's label hashing and validation. The latency histograms are plain
// bucket arrays read at the scrape the same way (latency-histogram.ts).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { createLabelledLatencyHistogram, createLatencyHistogram, type LabelledLatencyHistogram, type LatencyHistogram } from './latency-histogram.js';

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Requests by how they ended: `allowed`, `denied`, `unauthenticated`, `bad_request`, `upstream_error`, ... */
  readonly requests: Counter<'outcome'>;
  /** Decisions by result (`Allow`, `ExplicitDeny`, `ImplicitDeny`) and reason. */
  readonly decisions: Counter<'decision' | 'reason'>;
  readonly decisionSeconds: LatencyHistogram;
  readonly upstreamSeconds: LabelledLatencyHistogram<'outcome'>;
  readonly totalSeconds: LatencyHistogram;
  readonly cacheLookups: Counter<'result'>;
  readonly reloads: Counter<'result'>;
  readonly redisErrors: Counter<'operation'>;
  /** Shadow evaluation: requests the candidate policies would decide the other way, by direction. */
  readonly shadowDisagreements: Counter<'direction'>;
  /** WebSocket tunnels iamgate closed, by reason (`session_revoked`, `revocation_unavailable`, `token_expired`, `policy_denied`, `max_lifetime`, `shutdown`). */
  readonly tunnelsClosed: Counter<'reason'>;
  /** The request path's counts, read into `requests`, `decisions` and `cacheLookups` at scrape time. */
  readonly count: {
    request(outcome: string): void;
    decision(decision: string, reason: string): void;
    cacheLookup(result: string): void;
  };
}

/** One label set's count, and how much of it the prom-client counter has been given. */
interface Tallied {
  readonly labels: Readonly<Record<string, string>>;
  n: number;
  reported: number;
}

/** Counts by up to two label values, nested Maps keyed by the values themselves (no key strings built). */
class Tally {
  private readonly byFirst = new Map<string, Map<string, Tallied>>();
  constructor(private readonly names: readonly [string] | readonly [string, string]) {}

  add(first: string, second = ''): void {
    let inner = this.byFirst.get(first);
    if (inner === undefined) this.byFirst.set(first, (inner = new Map()));
    const entry = inner.get(second);
    if (entry !== undefined) {
      entry.n++;
      return;
    }
    const labels: Record<string, string> = { [this.names[0]]: first };
    if (this.names[1] !== undefined) labels[this.names[1]] = second;
    inner.set(second, { labels, n: 1, reported: 0 });
  }

  /** Adds what was counted since the last scrape to the counter (which other code may also increment). */
  report(counter: Counter<string>): void {
    for (const inner of this.byFirst.values()) {
      for (const entry of inner.values()) {
        if (entry.n > entry.reported) counter.inc(entry.labels, entry.n - entry.reported);
        entry.reported = entry.n;
      }
    }
  }
}

/** How often the event-loop lag is sampled, in ms (docs/benchmarks.md, "Idle"). */
export const IDLE_SAMPLING_MS = 100;

/** Creates the metric set on a fresh registry; `processMetrics` adds Node's default process metrics. */
export function createGatewayMetrics(options: { processMetrics?: boolean; version?: string } = {}): GatewayMetrics {
  const registry = new Registry();
  // The event-loop lag histogram samples on a timer: prom-client's default (10 ms) wakes an idle
  // sidecar 100 times a second, about 1% of a core doing nothing; every 100 ms still measures lag.
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'iamgate_', eventLoopMonitoringPrecision: IDLE_SAMPLING_MS });
  const registers = [registry];
  if (options.version !== undefined) {
    new Gauge({ name: 'iamgate_build_info', help: 'Always 1; the labels say which iamgate and Node.js run', labelNames: ['version', 'node'], registers }).set(
      { version: options.version, node: process.versions.node },
      1,
    );
  }
  const requests = new Tally(['outcome']);
  const decisions = new Tally(['decision', 'reason']);
  const cacheLookups = new Tally(['result']);
  return {
    registry,
    count: {
      request: (outcome) => requests.add(outcome),
      decision: (decision, reason) => decisions.add(decision, reason),
      cacheLookup: (result) => cacheLookups.add(result),
    },
    requests: new Counter({
      name: 'iamgate_requests_total',
      help: 'Requests handled, by outcome',
      labelNames: ['outcome'],
      registers,
      collect() {
        requests.report(this);
      },
    }),
    decisions: new Counter({
      name: 'iamgate_decisions_total',
      help: 'Authorization decisions, by decision and reason',
      labelNames: ['decision', 'reason'],
      registers,
      collect() {
        decisions.report(this);
      },
    }),
    decisionSeconds: createLatencyHistogram({ name: 'iamgate_decision_duration_seconds', help: 'Time to decide (cache lookup and evaluation)', buckets: LATENCY_BUCKETS, registry }),
    upstreamSeconds: createLabelledLatencyHistogram({
      name: 'iamgate_upstream_duration_seconds',
      help: 'Time from forwarding to the end of the upstream response',
      label: 'outcome',
      buckets: LATENCY_BUCKETS,
      registry,
    }),
    totalSeconds: createLatencyHistogram({ name: 'iamgate_request_duration_seconds', help: 'Time from arrival to the end of the answer', buckets: LATENCY_BUCKETS, registry }),
    cacheLookups: new Counter({
      name: 'iamgate_decision_cache_lookups_total',
      help: 'Decision cache lookups, by result (hit_l1, hit_l2, miss)',
      labelNames: ['result'],
      registers,
      collect() {
        cacheLookups.report(this);
      },
    }),
    reloads: new Counter({ name: 'iamgate_policy_reloads_total', help: 'Policy loads and reloads, by result (success, failure)', labelNames: ['result'], registers }),
    shadowDisagreements: new Counter({ name: 'iamgate_shadow_disagreements_total', help: 'Requests the shadow policies would decide the other way, by direction (would_allow, would_deny)', labelNames: ['direction'], registers }),
    redisErrors: new Counter({ name: 'iamgate_redis_errors_total', help: 'Redis command errors, by operation', labelNames: ['operation'], registers }),
    tunnelsClosed: new Counter({ name: 'iamgate_websocket_tunnels_closed_total', help: 'WebSocket tunnels closed by iamgate, by reason', labelNames: ['reason'], registers }),
  };
}
