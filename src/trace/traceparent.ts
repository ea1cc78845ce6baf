// W3C Trace Context (https://www.w3.org/TR/trace-context/): the caller's `traceparent` is accepted
// when it is exactly one well-formed version-00 header (lower-case hex, trace id and parent id not
// all zeros); otherwise iamgate starts a new trace. Either way the upstream receives a traceparent
// with the trace id and iamgate's own span id as parent, and the audit record carries the trace id.

/** The trace a request belongs to, and iamgate's span in it. */
export interface TraceContext {
  readonly traceId: string;
  /** iamgate's span for this request (the upstream's parent). */
  readonly spanId: string;
  /** The caller's span, when the caller sent a valid traceparent. */
  readonly parentSpanId: string | undefined;
  /** Trace flags, two hex digits (`01` = sampled). */
  readonly flags: string;
  /** The caller's tracestate, passed on only with a valid traceparent and when well formed (`isValidTracestate`). */
  readonly tracestate: string | undefined;
}

/** Random hex ids; injectable so tests can fix them. */
export interface TraceIds {
  traceId(): string;
  spanId(): string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const MAX_TRACESTATE = 512;
/** W3C Trace Context's bound on tracestate list members. */
const MAX_TRACESTATE_MEMBERS = 32;
/**
 * One tracestate list member as the W3C grammar writes it, or an empty one, with optional spaces
 * or tabs around: a key (lower-case vendor key, or tenant@system) `=` a value of printable ASCII
 * other than `,` and `=`, not ending in a space. Spaces after a member belong to it only after its
 * value, so a member of spaces alone has one reading: a caller's run of spaces costs one pass,
 * never a search over the ways to split it. Members are tested one by one (split at commas), so
 * no reading spans two of them.
 */
const TRACESTATE_MEMBER =
  /^[ \t]*(?:(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e][ \t]*)?$/;

/** Reads a valid caller traceparent: the trace id, the caller's span id and flags; undefined when invalid. */
export function parseTraceparent(value: string): { traceId: string; parentSpanId: string; flags: string } | undefined {
  const m = TRACEPARENT.exec(value);
  if (!m) return undefined;
  const [, traceId, parentSpanId, flags] = m as unknown as [string, string, string, string];
  if (traceId === ZERO_TRACE || parentSpanId === ZERO_SPAN) return undefined;
  return { traceId, parentSpanId, flags };
}

/**
 * Whether a caller's tracestate (its headers joined with commas) may be passed on: at most 512
 * characters, at most 32 members, each well formed. Anything else (bytes above `~`, control
 * characters, a member without `=`) is the caller's text, not trace state, and is dropped whole,
 * as the W3C specification asks of a header that does not parse.
 */
export function isValidTracestate(value: string): boolean {
  if (value.length > MAX_TRACESTATE) return false;
  let members = 0;
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    if (++members > MAX_TRACESTATE_MEMBERS || !TRACESTATE_MEMBER.test(value.slice(start, end))) return false;
    start = end + 1;
  }
  return true;
}

/** The trace of a request from its raw headers: the caller's when valid, else a new sampled one. */
export function traceOf(raw: readonly string[], ids: TraceIds): TraceContext {
  let parent: string | undefined;
  let count = 0;
  let state: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 11 && name.toLowerCase() === 'traceparent') {
      parent = raw[i + 1];
      count++;
    } else if (name.length === 10 && name.toLowerCase() === 'tracestate') {
      state = state === undefined ? raw[i + 1] : `${state},${raw[i + 1]}`;
    }
  }
  const caller = count === 1 && parent !== undefined ? parseTraceparent(parent) : undefined;
  if (!caller) return { traceId: ids.traceId(), spanId: ids.spanId(), parentSpanId: undefined, flags: '01', tracestate: undefined };
  return {
    traceId: caller.traceId,
    spanId: ids.spanId(),
    parentSpanId: caller.parentSpanId,
    flags: caller.flags,
    tracestate: state !== undefined && isValidTracestate(state) ? state : undefined,
  };
}

/** The traceparent the upstream receives: the trace, with iamgate's span as its parent. */
export function traceparentOf(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}
