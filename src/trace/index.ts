export { readTracingConfig, type TracingConfig } from './config.js';
export { createTraceIds } from './ids.js';
export { preciseNow, type RequestTiming, type RequestTracer } from './spans.js';
export { parseTraceparent, traceOf, traceparentOf, type TraceContext, type TraceIds } from './traceparent.js';
