// W3C traceparent: strict parsing, a new trace when the caller's is missing or malformed, and the
// trace carried through a real gateway to a real upstream and into the audit record.
import { describe, expect, it } from 'vitest';
import { createTraceIds, parseTraceparent, traceOf, traceparentOf } from '../../src/trace/index.js';
import { useTestGateway } from '../support/gateway.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${PARENT}-01`;

const fixedIds = { traceId: () => 'a'.repeat(32), spanId: () => 'b'.repeat(16) };

describe('parsing a traceparent', () => {
  it('accepts a well-formed version-00 header', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE, parentSpanId: PARENT, flags: '01' });
  });

  it.each([
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['an all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['another version', `01-${TRACE}-${PARENT}-01`],
    ['a short trace id', `00-${TRACE.slice(1)}-${PARENT}-01`],
    ['trailing data', `${VALID}-extra`],
    ['surrounding space', ` ${VALID}`],
    ['non-hex flags', `00-${TRACE}-${PARENT}-0g`],
  ])('refuses %s', (_what, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});

describe('the trace of a request', () => {
  it('continues a valid caller trace with a new span of its own, passing tracestate on', () => {
    const trace = traceOf(['TraceParent', VALID, 'tracestate', 'a=1', 'tracestate', 'b=2'], fixedIds);
    expect(trace).toEqual({ traceId: TRACE, spanId: 'b'.repeat(16), parentSpanId: PARENT, flags: '01', tracestate: 'a=1,b=2' });
    expect(traceparentOf(trace)).toBe(`00-${TRACE}-${'b'.repeat(16)}-01`);
  });

  it('starts a new sampled trace, without the caller\'s tracestate, when the traceparent is malformed or sent twice', () => {
    const fresh = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: undefined, flags: '01', tracestate: undefined };
    expect(traceOf(['traceparent', 'garbage', 'tracestate', 'a=1'], fixedIds)).toEqual(fresh);
    expect(traceOf(['traceparent', VALID, 'traceparent', VALID], fixedIds)).toEqual(fresh);
    expect(traceOf([], fixedIds)).toEqual(fresh);
  });

  it.each([
    ['a character above ~', 'vendor=caf\u00e9'],
    ['a control character', 'vendor=a\u0001b'],
    ['a member without =', 'vendor'],
    ['an upper-case key', 'Vendor=x'],
    ['a tab inside a value', 'vendor=a\tb'],
    ['an = inside a value', 'vendor=a=b'],
    ['33 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ['a key over 256 characters', `${'k'.repeat(257)}=v`],
  ])('drops a tracestate with %s, keeping the caller\'s trace', (_what, state) => {
    const trace = traceOf(['traceparent', VALID, 'tracestate', state], fixedIds);
    expect(trace).toMatchObject({ traceId: TRACE, parentSpanId: PARENT, tracestate: undefined });
  });

  it('passes on a tracestate of vendor keys, multi-tenant keys, spaces around members and empty members', () => {
    const state = 'rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE,tenant1@vendor=a b~c, ,x*/_-9=!';
    expect(traceOf(['traceparent', VALID, 'tracestate', state], fixedIds).tracestate).toBe(state);
    expect(traceOf(['traceparent', VALID, 'tracestate', 'a=1', 'tracestate', 'b=\u00ff'], fixedIds).tracestate).toBeUndefined();
  });

  it('draws distinct random ids of the right length', () => {
    const ids = createTraceIds();
    const traces = new Set(Array.from({ length: 600 }, () => ids.traceId()));
    expect(traces.size).toBe(600);
    for (const id of traces) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(ids.spanId()).toMatch(/^[0-9a-f]{16}$/);
  });

  it('draws trace and span ids in turn across several refills of its pool, each well formed and none twice', () => {
    const ids = createTraceIds();
    const drawn = Array.from({ length: 1000 }, () => [ids.traceId(), ids.spanId()] as const);
    expect(new Set(drawn.map(([t]) => t)).size).toBe(1000);
    expect(new Set(drawn.map(([, s]) => s)).size).toBe(1000);
    for (const [t, s] of drawn) expect([t, s]).toEqual([expect.stringMatching(/^[0-9a-f]{32}$/), expect.stringMatching(/^[0-9a-f]{16}$/)]);
  });
});

describe('a proxied request', () => {
  // Outcome records too, so the trace id can be seen on both of a forwarded request's records.
  const gw = useTestGateway({ config: { audit: { outcomes: 'all' } } });

  async function get(headers: Record<string, string>): Promise<{ requestId: string; traceparent: string | undefined; tracestate: string | undefined }> {
    const res = await fetch(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice'), ...headers } });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-iamgate-request-id') ?? '';
    const received = gw.upstream.received.at(-1);
    const header = (name: string) => {
      const v = received?.headers[name];
      return Array.isArray(v) ? v.join('|') : v;
    };
    return { requestId, traceparent: header('traceparent'), tracestate: header('tracestate') };
  }

  it('carries the caller\'s trace to the upstream with iamgate\'s span as parent, and records the trace id', async () => {
    const { requestId, traceparent, tracestate } = await get({ traceparent: VALID, tracestate: 'vendor=x' });
    const sent = parseTraceparent(traceparent ?? '');
    expect(sent?.traceId).toBe(TRACE);
    expect(sent?.parentSpanId).not.toBe(PARENT);
    expect(tracestate).toBe('vendor=x');
    // The outcome is recorded once the upstream's answer has been relayed: wait for it.
    const records = () => gw.audit.events.filter((e) => e.requestId === requestId).map((e) => [e.kind, e.traceId]);
    await expect.poll(records).toEqual([
      ['request', TRACE],
      ['outcome', TRACE],
    ]);
  });

  it('keeps the caller\'s trace but does not pass on a tracestate holding a byte above ~, a tab or a member without =', async () => {
    for (const state of ['vendor=caf\u00e9', 'vendor=a\tb', 'vendor']) {
      const { traceparent, tracestate } = await get({ traceparent: VALID, tracestate: state });
      expect(parseTraceparent(traceparent ?? '')?.traceId).toBe(TRACE);
      expect(tracestate).toBeUndefined();
    }
  });

  it('replaces a malformed traceparent with a new trace, dropping the caller\'s tracestate', async () => {
    const { requestId, traceparent, tracestate } = await get({ traceparent: `00-${'0'.repeat(32)}-${PARENT}-01`, tracestate: 'vendor=x' });
    const sent = parseTraceparent(traceparent ?? '');
    expect(sent).toBeDefined();
    expect(sent?.traceId).not.toBe('0'.repeat(32));
    expect(tracestate).toBeUndefined();
    expect(gw.audit.decisionsFor(requestId)[0]?.traceId).toBe(sent?.traceId);
  });
});
