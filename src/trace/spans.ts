// What the proxy tells a tracer about one request, once it is finished: the trace, the stage
// boundaries (epoch ms, sub-millisecond) and the outcome. A tracer turns it into one span per stage.
import type { TraceContext } from './traceparent.js';

export interface RequestTiming {
  readonly trace: TraceContext;
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  /** The decision's reason code (`allowed`, `implicit_deny`, `token_expired`, ...). */
  readonly reason: string;
  /** The status the caller got. */
  readonly status: number;
  /** The authenticated caller's ARN, when there is one. */
  readonly principal: string | undefined;
  readonly start: number;
  /** When the pipeline (authenticate, route, decide, audit) answered. */
  readonly authorized: number;
  /** When forwarding began and ended; undefined for a rejected request. */
  readonly upstream: { readonly start: number; readonly end: number; readonly outcome: string } | undefined;
  readonly end: number;
}

export interface RequestTracer {
  /** Takes one finished request; never throws, never waits. */
  record(timing: RequestTiming): void;
  /** Sends what is queued and stops. */
  close(): Promise<void>;
}

/** Epoch ms with sub-millisecond precision, for span boundaries. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
