// An idle kept-alive connection is closed by iamgate once `listen.keepAliveTimeoutMs` has passed
// since its last answer, on the gateway listener and on the operations listener alike; and no
// configuration can lift that bound (0 would keep an idle connection open for ever). The gateway
// runs as the compiled `iamgate serve`.
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config/index.js';
import { exchange } from './support/raw.js';
import { useBuiltServe } from './support/served.js';

const KEEP_ALIVE_MS = 500;
/** Far past the bound, and short of Node's own 5-second default, which a listener not given the bound would keep. */
const CLOSED_WITHIN_MS = 3500;

const served = useBuiltServe(`keepAliveTimeoutMs: ${KEEP_ALIVE_MS}`);

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
