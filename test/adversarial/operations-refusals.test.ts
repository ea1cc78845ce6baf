// The operations listener records nothing (its answers are not decisions: docs/audit.md), so what it
// refuses before any endpoint runs — bytes that are not HTTP, headers past their deadline, an
// upgrade — must not name a request id, which would promise a record no trail holds. Its other
// refusals (421, 403, a failed reload) carry none already. Nor can connections to it pile up past
// `operations.maxConnections`. The gateway runs as the compiled `iamgate serve`, its trail in a file.
import net from 'node:net';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/config/index.js';
import { readTrail } from '../audit/served.js';
import { until } from '../support/until.js';
import { exchange, jsonOf, responsesComplete, responsesOf, type RawExchange } from './support/raw.js';
import { useBuiltServe } from './support/served.js';

// The connections a test holds open must outlive it: the idle bound (5 s by default) would close
// one while the next is still being retried for, and the connection meant to be refused would fit.
const served = useBuiltServe({ listen: 'headersTimeoutMs: 1000, keepAliveTimeoutMs: 60000', operations: 'maxConnections: 2' });

describe('a refusal of the operations listener', () => {
  it.each([
    { name: 'bytes that are not HTTP', payload: 'NOT HTTP AT ALL\r\n\r\n', status: 400, code: 'malformed_request' },
    { name: 'an HTTP/2 preface', payload: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: 400, code: 'malformed_request' },
    { name: 'headers past listen.headersTimeoutMs', payload: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', status: 408, code: 'request_timeout' },
    { name: 'an upgrade', payload: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', status: 400, code: 'unsupported_upgrade' },
  ])('to $name is answered $status $code without a request id, and the trail gains no record', async ({ payload, status, code }) => {
    const before = (await readTrail(served.files.trail)).length;
    const r = await exchange(served.opsPort, payload, { timeoutMs: 8000 });
    expect([r.statuses, r.closedByServer]).toEqual([[status], true]);
    expect(responsesOf(r.text)[0]?.head).not.toMatch(/\r\nx-iamgate-request-id:/i);
    const body = jsonOf(r.text);
    expect(body).toMatchObject({ code });
    expect(body).not.toHaveProperty('requestId');
    expect((await readTrail(served.files.trail)).length).toBe(before);
  }, 15_000);
});

describe('connections to the operations listener', () => {
  const held: net.Socket[] = [];
  afterAll(() => {
    for (const socket of held) socket.destroy();
  });

  /**
   * A kept-alive connection whose first answer has come (so the listener has accepted it). Sockets
   * the tests above refused may still be closing and count against the limit: a connection closed
   * unanswered is tried again, up to a deadline.
   */
  async function holdOne(): Promise<net.Socket> {
    let kept: net.Socket | undefined;
    await until('the operations listener answering a connection to hold', async () => (kept = await answeredConnection()) !== undefined, 8000, 50);
    held.push(kept!);
    return kept!;
  }

  /** A connection whose first answer has come, or undefined when the listener closed it unanswered. */
  async function answeredConnection(): Promise<net.Socket | undefined> {
    const socket = net.connect(served.opsPort, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.setEncoding('latin1');
    let text = '';
    const answered = new Promise<boolean>((resolve) => {
      socket.on('data', (d: string) => {
        text += d;
        if (responsesComplete(1)(text)) resolve(true);
      });
      socket.once('close', () => resolve(false));
    });
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    return (await answered) ? socket : undefined;
  }

  it('past operations.maxConnections are closed as they arrive, and answered again once one closes', async () => {
    await holdOne();
    const second = await holdOne();
    const refused = await exchange(served.opsPort, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', { timeoutMs: 8000 });
    expect([refused.statuses, refused.closedByServer]).toEqual([[], true]);
    second.destroy();
    await once(second, 'close');
    // The listener counts the closed connection out a moment after the client sees it closed.
    let after: RawExchange | undefined;
    const answered = async (): Promise<boolean> => (after = await exchange(served.opsPort, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', { timeoutMs: 4000 })).statuses.length > 0;
    await until('the operations listener answering once a held connection closed', answered, 8000, 50);
    expect(after?.statuses).toEqual([200]);
  }, 30_000);

  it('are capped at 100 by default, and operations.maxConnections is validated', () => {
    const d = readConfig({ version: 1 }, {}, undefined);
    expect(d.ok && d.config.operations.maxConnections).toBe(100);
    const r = readConfig({ version: 1, operations: { maxConnections: 0 } }, {}, undefined);
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['operations.maxConnections']);
  });
});
