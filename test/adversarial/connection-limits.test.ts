// Connection-level limits on the gateway listener: header deadlines enforced close to their time
// (not at Node's 30-second sweep), on the operations listener too; a cap on header lines (431, so a
// flood of headers cannot push the identity headers past what the upstream reads); a cap on open
// connections; and request targets the HTTP adapter would refuse bare, answered by iamgate instead.
import net from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config/index.js';
import { useTestGateway } from '../support/gateway.js';
import { metricValue } from '../support/serve-process.js';
import { exchange, jsonOf, responsesOf, sleep } from './support/raw.js';

/** Sends a request line, then one header line every 100 ms for up to 7.5 s: never completes its headers. */
function trickle(port: number): ReturnType<typeof exchange> {
  return exchange(port, 'GET /public/x HTTP/1.1\r\nHost: x\r\n', {
    timeoutMs: 8000,
    drive: async (socket) => {
      for (let i = 0; i < 75 && !socket.destroyed; i++) {
        await sleep(100);
        socket.write(`X-${i}: a\r\n`);
      }
    },
  });
}

describe('header deadlines', () => {
  const gw = useTestGateway({ config: { listen: { host: '127.0.0.1', port: 0, headersTimeoutMs: 1000, requestTimeoutMs: 2000 } } });

  it('closes a connection trickling header lines once headersTimeoutMs has passed', async () => {
    const r = await trickle(Number(new URL(gw.url).port));
    expect(r.timedOut).toBe(false);
    expect(r.closedByServer).toBe(true);
    expect(r.statuses.every((s) => s === 408)).toBe(true);
  }, 15_000);

  it('closes such a connection on the operations listener too', async () => {
    const r = await trickle(Number(new URL(gw.opsUrl).port));
    expect(r.timedOut).toBe(false);
    expect(r.closedByServer).toBe(true);
  }, 15_000);
});

describe('header lines', () => {
  const gw = useTestGateway();
  let port: number;
  let alice: string;

  beforeAll(async () => {
    port = Number(new URL(gw.url).port);
    alice = await gw.bearer('alice');
  });

  const filler = (n: number): string => Array.from({ length: n }, (_, i) => `x-f${i}: ${i}\r\n`).join('');

  it('answers 431 too_many_headers to a request with more than 200 header lines, never forwarding it', async () => {
    const before = gw.upstream.arrivals();
    const r = await exchange(port, `GET /public/readme HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\n${filler(1100)}Connection: close\r\n\r\n`);
    expect(r.statuses).toEqual([431]);
    expect(jsonOf(r.text)).toMatchObject({ error: 'RequestHeaderFieldsTooLarge', code: 'too_many_headers' });
    expect(responsesOf(r.text)[0]!.head).toMatch(/\r\nx-iamgate-request-id: /i);
    expect(gw.upstream.arrivals()).toBe(before);
  });

  it('forwards a request with many headers under the limit, with the identity headers', async () => {
    const before = gw.upstream.received.length;
    const r = await exchange(port, `GET /public/readme HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\n${filler(190)}Connection: close\r\n\r\n`);
    expect(r.statuses).toEqual([200]);
    expect(gw.upstream.received.slice(before)[0]?.headers['x-iamgate-principal']).toBe('arn:aws:iam::111122223333:user/alice');
  });

  it('answers 431 to an upgrade request with too many header lines', async () => {
    const r = await exchange(port, `GET /ws HTTP/1.1\r\nHost: x\r\nAuthorization: ${alice}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${filler(300)}\r\n`);
    expect(r.statuses).toEqual([431]);
  });
});

describe('open connections', () => {
  const gw = useTestGateway({ config: { listen: { host: '127.0.0.1', port: 0, maxConnections: 2 } } });
  const idle: net.Socket[] = [];

  afterAll(() => {
    for (const s of idle) s.destroy();
  });

  /** Waits until the gateway listener counts `n` open connections (its iamgate_connections_open gauge). */
  async function openConnections(n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const page = await (await request(`${gw.opsUrl}/metrics`)).body.text();
      const open = metricValue(page, 'iamgate_connections_open', { listener: 'gateway' });
      if (open === n) return;
      if (Date.now() > deadline) throw new Error(`the gateway listener held ${open} connections, not ${n}, for 10 s`);
      await sleep(20);
    }
  }

  it('closes connections beyond listen.maxConnections as they arrive', async () => {
    const port = Number(new URL(gw.url).port);
    for (let i = 0; i < 2; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise<void>((r) => s.once('connect', () => r()));
      idle.push(s);
    }
    // A client's connect event comes before the server has accepted: wait until the listener holds both.
    await openConnections(2);
    const r = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(r.closedByServer).toBe(true);
    expect(r.statuses).toEqual([]);
    for (const s of idle.splice(0)) s.destroy();
    await openConnections(0);
    const after = await exchange(port, 'GET /public/readme HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(after.statuses).toEqual([401]);
  });

  it('is validated by the configuration reader', () => {
    const r = readConfig({ version: 1, listen: { maxConnections: 0, maxHeaders: 5 } }, {}, undefined);
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['listen.maxConnections', 'listen.maxHeaders']);
    const d = readConfig({ version: 1 }, {}, undefined);
    expect(d.ok && [d.config.listen.maxConnections, d.config.listen.maxHeaders]).toEqual([10_000, 200]);
  });
});

describe('targets the HTTP adapter cannot represent', () => {
  const gw = useTestGateway();

  it.each([
    ['GET /public\\..\\admin HTTP/1.1', 'backslash'],
    ['GET /public\\x?q=1 HTTP/1.1', 'backslash'],
    ['OPTIONS * HTTP/1.1', 'not_origin_form'],
  ])('answers %j with iamgate’s 400 bad_path (%s), a request id and one audit record', async (line, reason) => {
    const port = Number(new URL(gw.url).port);
    const before = gw.upstream.arrivals();
    const r = await exchange(port, `${line}\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\nConnection: close\r\n\r\n`);
    expect(r.statuses).toEqual([400]);
    const body = jsonOf(r.text);
    expect(body).toMatchObject({ error: 'BadRequest', code: 'bad_path', reason });
    const requestId = /\r\nx-iamgate-request-id: ([^\r]+)/i.exec(responsesOf(r.text)[0]!.head)?.[1];
    expect(requestId).toBe(body['requestId']);
    expect(gw.audit.decisionsFor(requestId!)).toHaveLength(1);
    expect(gw.upstream.arrivals()).toBe(before);
  });
});
