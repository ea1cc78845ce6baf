// The OpenTelemetry exporter: spans as OTLP/HTTP with the JSON encoding (protocol facts from the
// OTLP specification: hex ids, nanosecond times as decimal strings, SpanKind SERVER 2, CLIENT 3,
// INTERNAL 1; status OK 1, ERROR 2), batched and posted to the collector in the background. Loaded
// by dynamic import only when `tracing.otlp` is configured. Per request: three small objects put
// in a bounded queue; serialisation and I/O happen on the export timer.
import { randomFillSync } from 'node:crypto';
import type { TracingConfig } from './config.js';
import type { RequestTiming, RequestTracer } from './spans.js';

type Attribute = { key: string; value: { stringValue: string } | { intValue: string } };

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: 1 | 2 | 3;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Attribute[];
  status: { code: 1 | 2 };
}

export interface OtlpStats {
  readonly exported: number;
  readonly dropped: number;
  readonly failures: number;
}

export interface OtlpTracer extends RequestTracer {
  stats(): OtlpStats;
}

/** Epoch ms (fractional) as a decimal string of nanoseconds, exact to the microsecond. */
function nanos(ms: number): string {
  const whole = Math.floor(ms);
  const micro = Math.min(999, Math.round((ms - whole) * 1000));
  return `${whole}${String(micro).padStart(3, '0')}000`;
}

const str = (key: string, value: string): Attribute => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): Attribute => ({ key, value: { intValue: String(value) } });

/** Creates the exporter; `fetch` is injectable for tests of failure handling. */
export function createOtlpTracer(config: TracingConfig, deps: { fetch?: typeof fetch; onError?: (err: unknown) => void } = {}): OtlpTracer {
  const send = deps.fetch ?? fetch;
  let queue: OtlpSpan[] = [];
  let exported = 0;
  let dropped = 0;
  let failures = 0;
  let inFlight: Promise<void> | undefined;
  const idPool = Buffer.allocUnsafe(1024);
  let idOffset = idPool.length;
  const spanId = (): string => {
    if (idOffset + 8 > idPool.length) {
      randomFillSync(idPool);
      idOffset = 0;
    }
    const id = idPool.toString('hex', idOffset, idOffset + 8);
    idOffset += 8;
    return id === '0000000000000000' ? spanId() : id;
  };
  const resource = { attributes: [str('service.name', config.serviceName)] };

  const push = (span: OtlpSpan): void => {
    if (queue.length >= config.maxQueuedSpans) {
      queue.shift();
      dropped++;
    }
    queue.push(span);
  };

  const exportNow = (): Promise<void> => {
    if (inFlight || queue.length === 0) return inFlight ?? Promise.resolve();
    const spans = queue;
    queue = [];
    const body = JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'iamgate' }, spans }] }] });
    inFlight = send(config.endpoint, {
      method: 'POST',
      headers: { ...config.headers, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(config.timeoutMs),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`collector answered ${res.status}`);
        exported += spans.length;
      })
      .catch((err: unknown) => {
        // Spans are diagnostics: a failed export is counted and reported, never retried into the request path.
        failures++;
        dropped += spans.length;
        deps.onError?.(err);
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const timer = setInterval(() => void exportNow(), config.exportIntervalMs).unref();

  return {
    record(t) {
      const { trace } = t;
      const denied = t.upstream === undefined;
      const common = [str('iamgate.request_id', t.requestId)];
      push({
        traceId: trace.traceId,
        spanId: trace.spanId,
        ...(trace.parentSpanId === undefined ? {} : { parentSpanId: trace.parentSpanId }),
        name: `${t.method} ${denied ? 'rejected' : 'forwarded'}`,
        kind: 2,
        startTimeUnixNano: nanos(t.start),
        endTimeUnixNano: nanos(t.end),
        attributes: [
          ...common,
          str('http.request.method', t.method),
          str('url.path', t.path),
          int('http.response.status_code', t.status),
          str('iamgate.reason', t.reason),
          ...(t.principal === undefined ? [] : [str('enduser.id', t.principal)]),
        ],
        status: { code: t.status >= 500 ? 2 : 1 },
      });
      push({
        traceId: trace.traceId,
        spanId: spanId(),
        parentSpanId: trace.spanId,
        name: 'authorize',
        kind: 1,
        startTimeUnixNano: nanos(t.start),
        endTimeUnixNano: nanos(t.authorized),
        attributes: [...common, str('iamgate.reason', t.reason)],
        status: { code: 1 },
      });
      if (t.upstream) {
        push({
          traceId: trace.traceId,
          spanId: spanId(),
          parentSpanId: trace.spanId,
          name: 'upstream',
          kind: 3,
          startTimeUnixNano: nanos(t.upstream.start),
          endTimeUnixNano: nanos(t.upstream.end),
          attributes: [...common, str('iamgate.upstream.outcome', t.upstream.outcome)],
          status: { code: t.upstream.outcome === 'completed' ? 1 : 2 },
        });
      }
    },
    async close() {
      clearInterval(timer);
      await inFlight;
      await exportNow();
    },
    stats: () => ({ exported, dropped, failures }),
  };
}
