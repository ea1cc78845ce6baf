// Prometheus metrics for one gateway instance, on its own registry (never prom-client's global
// one), so several gateways in one process — tests, or a future multi-upstream mode — stay apart.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Requests by how they ended: `allowed`, `denied`, `unauthenticated`, `bad_request`, `upstream_error`, ... */
  readonly requests: Counter<'outcome'>;
  /** Decisions by result (`Allow`, `ExplicitDeny`, `ImplicitDeny`) and reason. */
  readonly decisions: Counter<'decision' | 'reason'>;
  readonly decisionSeconds: Histogram;
  readonly upstreamSeconds: Histogram<'outcome'>;
  readonly totalSeconds: Histogram;
  readonly cacheLookups: Counter<'result'>;
  readonly reloads: Counter<'result'>;
  readonly redisErrors: Counter<'operation'>;
  /** WebSocket tunnels iamgate closed, by reason (`session_revoked`, `token_expired`, `policy_denied`, `max_lifetime`, `shutdown`). */
  readonly tunnelsClosed: Counter<'reason'>;
}

/** Creates the metric set on a fresh registry; `processMetrics` adds Node's default process metrics. */
export function createGatewayMetrics(options: { processMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'iamgate_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'iamgate_requests_total', help: 'Requests handled, by outcome', labelNames: ['outcome'], registers }),
    decisions: new Counter({ name: 'iamgate_decisions_total', help: 'Authorization decisions, by decision and reason', labelNames: ['decision', 'reason'], registers }),
    decisionSeconds: new Histogram({ name: 'iamgate_decision_duration_seconds', help: 'Time to decide (cache lookup and evaluation)', buckets: LATENCY_BUCKETS, registers }),
    upstreamSeconds: new Histogram({ name: 'iamgate_upstream_duration_seconds', help: 'Time from forwarding to the end of the upstream response', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers }),
    totalSeconds: new Histogram({ name: 'iamgate_request_duration_seconds', help: 'Time from arrival to the end of the answer', buckets: LATENCY_BUCKETS, registers }),
    cacheLookups: new Counter({ name: 'iamgate_decision_cache_lookups_total', help: 'Decision cache lookups, by result (hit_l1, hit_l2, miss)', labelNames: ['result'], registers }),
    reloads: new Counter({ name: 'iamgate_policy_reloads_total', help: 'Policy loads and reloads, by result (success, failure)', labelNames: ['result'], registers }),
    redisErrors: new Counter({ name: 'iamgate_redis_errors_total', help: 'Redis command errors, by operation', labelNames: ['operation'], registers }),
    tunnelsClosed: new Counter({ name: 'iamgate_websocket_tunnels_closed_total', help: 'WebSocket tunnels closed by iamgate, by reason', labelNames: ['reason'], registers }),
  };
}
