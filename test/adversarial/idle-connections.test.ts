// An idle kept-alive connection is closed by iamgate once `listen.keepAliveTimeoutMs` has passed
// since its last answer, on the gateway listener and on the operations listener alike; and no
// configuration can lift that bound (0 would keep an idle connection open for ever). A connection
// that never sends a byte is answered 408 at `listen.headersTimeoutMs`, and that answer has its
// record, as every answer does; one closed before sending anything was never answered and leaves
// none. The gateway runs as the compiled `iamgate serve`.
import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config/index.js';
import { decisionsFor, readTrail, type TrailRecord } from '../audit/served.js';
import { until } from '../support/until.js';
import { exchange, jsonOf, responsesOf } from './support/raw.js';
import { useBuiltServe } from './support/served.js';

const KEEP_ALIVE_MS = 500;
/** Far past the bound, and short of Node's own 5-second default, which a listener not given the bound would keep. */
const CLOSED_WITHIN_MS = 3500;

const served = useBuiltServe({ listen: `keepAliveTimeoutMs: ${KEEP_ALIVE_MS}, headersTimeoutMs: 1000` });

describe('a kept-alive connection left idle after its answer', () => {
  it.each([
    { listener: 'gateway', port: () => served.port, request: 'GET /orders/1', status: 401 },
    { listener: 'operations', port: () => served.opsPort, request: 'GET /healthz', status: 200 },
  ])('is closed by the $listener listener once listen.keepAliveTimeoutMs has passed', async ({ port, request, status }) => {
    const r = await exchange(port(), `${request} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, { timeoutMs: CLOSED_WITHIN_MS });
    expect([r.statuses, r.closedByServer, r.timedOut]).toEqual([[status], true, false]);
  }, 15_000);
});

describe('listen.keepAliveTimeoutMs', () => {
  it('cannot be 0, which would keep an idle connection open for ever', () => {
    const r = readConfig({ version: 1, listen: { keepAliveTimeoutMs: 0 } }, {}, undefined);
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['listen.keepAliveTimeoutMs']);
  });
});

describe('a connection that never sends a byte', () => {
  it('is answered 408 request_timeout at listen.headersTimeoutMs, with one record naming no method or path', async () => {
    const r = await exchange(served.port, '', { timeoutMs: 8000 });
    expect([r.statuses, r.closedByServer]).toEqual([[408], true]);
    const requestId = String(jsonOf(r.text)['requestId']);
    expect(responsesOf(r.text)[0]?.head).toContain(`x-iamgate-request-id: ${requestId}`);
    let records: TrailRecord[] = [];
    await until(`the record of ${requestId}`, async () => (records = decisionsFor(await readTrail(served.files.trail), requestId)).length > 0, 10_000, 50);
    expect(records).toEqual([expect.objectContaining({ kind: 'request', reason: 'request_timeout', status: 408, method: '' })]);
  }, 15_000);

  it('leaves no record when it is closed before its deadline', async () => {
    const before = (await readTrail(served.files.trail)).length;
    const socket = net.connect(served.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.end();
    await once(socket, 'close');
    // A record would be written at the header deadline (1 s): the trail is read well after it.
    const marker = await exchange(served.port, '', { timeoutMs: 8000 });
    expect(marker.statuses).toEqual([408]);
    const markerId = String(jsonOf(marker.text)['requestId']);
    let trail: TrailRecord[] = [];
    await until(`the record of ${markerId}`, async () => decisionsFor((trail = await readTrail(served.files.trail)), markerId).length > 0, 10_000, 50);
    expect(trail.slice(before).filter((x) => x.kind === 'request').map((x) => x['requestId'])).toEqual([markerId]);
  }, 20_000);
});
