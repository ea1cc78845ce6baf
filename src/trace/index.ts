export { createTraceIds } from './ids.js';
export { parseTraceparent, traceOf, traceparentOf, type TraceContext, type TraceIds } from './traceparent.js';
