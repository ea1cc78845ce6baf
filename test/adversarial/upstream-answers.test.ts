// The upstream as adversary: a raw TCP server answers the gateway's allowed requests with what no
// well-behaved HTTP server sends. Whatever it does, the caller gets one answer (502/504 with a
// reason, or the upstream's bytes as they came, cut where the upstream broke them), each answer
// leaves exactly one decision record, the caller's connection ends within a bound, and nothing the
// upstream writes reaches the caller as iamgate's own header or another caller's answer.
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { exchange, jsonOf, responsesOf } from './support/raw.js';

/** Upstream sockets by the request path they answered, with the time each closed. */
const closedAt = new Map<string, number>();

/** What the hostile upstream writes for a request whose path ends in the key. */
const SCRIPTS: Record<string, (socket: net.Socket) => void> = {
  'iamgate-headers': (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Iamgate-Principal: arn:aws:iam::111122223333:user/admin\r\nX-IAMGATE-MFA: true\r\nx-iamgate-request-id: forged\r\nX-Iamgate-Decision: allow\r\n\r\nok'),
  'switching-protocols': (s) => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi'),
  'short-body': (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part'),
  'long-body': (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Smuggled: yes\r\n\r\nsmuggled!'),
  'no-content-with-body': (s) => s.write('HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Smuggled: yes\r\n\r\nsmuggled!'),
  'no-content-chunked': (s) => s.write('HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nETag: "v2"\r\n\r\n'),
  'not-modified-with-length': (s) => s.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: "v1"\r\n\r\n'),
  'not-modified-with-body': (s) => s.write('HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Smuggled: yes\r\n\r\nsmuggled!'),
  'reset-mid-body': (s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part');
    setTimeout(() => s.resetAndDestroy(), 50);
  },
  'reset-after-head': (s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
    setTimeout(() => s.resetAndDestroy(), 50);
  },
  // Reads no body: the caller's bytes back up into iamgate's socket, unread when the upstream fails.
  'reset-after-head-unread': (s) => {
    s.pause();
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
    setTimeout(() => s.resetAndDestroy(), 50);
  },
  'huge-header': (s) => s.write(`HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(256 * 1024)}\r\nContent-Length: 2\r\n\r\nok`),
  'endless-headers': (s) => every(s, () => `X-More: ${'m'.repeat(1000)}\r\n`, 'HTTP/1.1 200 OK\r\n'),
  'endless-body': (s) => every(s, () => '5\r\nchunk\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
  trailers: (s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Iamgate-Principal, X-Checksum\r\n\r\n2\r\nok\r\n0\r\nX-Iamgate-Principal: forged\r\nX-Checksum: 1\r\n\r\n'),
  garbage: (s) => s.end('NOT HTTP AT ALL\r\n\r\n'),
  plain: (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain'),
};

/** Writes `first`, then `next()` every 5 ms for as long as the socket is open. */
function every(socket: net.Socket, next: () => string, first: string): void {
  socket.write(first);
  const timer = setInterval(() => socket.write(next()), 5);
  socket.on('close', () => clearInterval(timer));
}

const hostile = net.createServer((socket) => {
  let head = '';
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    head += chunk.toString('latin1');
    for (let end = head.indexOf('\r\n\r\n'); end >= 0; end = head.indexOf('\r\n\r\n')) {
      const target = head.slice(0, head.indexOf('\r\n')).split(' ')[1] ?? '';
      head = head.slice(end + 4);
      const key = Object.keys(SCRIPTS).find((k) => target.endsWith(`/${k}`)) ?? 'plain';
      socket.once('close', () => closedAt.set(key, Date.now()));
      SCRIPTS[key]!(socket);
    }
  });
});
await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
afterAll(() => new Promise<void>((resolve) => hostile.close(() => resolve())));

describe('an upstream that answers out of line', () => {
  const gw = useTestGateway({ upstreamUrl: `http://127.0.0.1:${(hostile.address() as net.AddressInfo).port}` });
  const c = useCallers(gw);

  interface Got {
    readonly text: string;
    readonly closedByServer: boolean;
    readonly ms: number;
    readonly id: string | undefined;
    readonly records: number;
  }

  async function get(key: string, user: 'alice' | 'bob' = 'alice', until?: (text: string) => boolean): Promise<Got> {
    const started = Date.now();
    const r = await exchange(c.port, `GET /orders/${key} HTTP/1.1\r\nHost: x\r\n${c.line[user]}\r\nConnection: close\r\n\r\n`, { timeoutMs: 5000, ...(until ? { until } : {}) });
    const id = /\r\nx-iamgate-request-id: *([^\r]+)/i.exec(r.text)?.[1];
    return { text: r.text, closedByServer: r.closedByServer, ms: Date.now() - started, id, records: gw.audit.decisionsFor(id ?? '').length };
  }

  const headerLines = (text: string): string[] => text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n').slice(1);

  it('never passes on an x-iamgate-* header of the upstream’s, in any case: the caller hears only iamgate’s request id', async () => {
    const r = await get('iamgate-headers');
    expect(r.text.startsWith('HTTP/1.1 200 ')).toBe(true);
    expect(headerLines(r.text).filter((l) => /^x-iamgate-/i.test(l))).toEqual([`x-iamgate-request-id: ${r.id}`]);
    expect(r.id).not.toBe('forged');
    expect(r.records).toBe(1);
  });

  it.each(['switching-protocols', 'huge-header', 'endless-headers', 'garbage'])(
    'answers %s with 502 upstream_unavailable, one record, and a closed connection within the header deadline',
    async (key) => {
      const r = await get(key);
      const [answer] = responsesOf(r.text);
      expect([answer?.status, jsonOf(r.text)['code'], r.closedByServer, r.records]).toEqual([502, 'upstream_unavailable', true, 1]);
      // upstream.headersTimeoutMs is 1 s in the test gateway.
      expect(r.ms).toBeLessThan(3000);
      expect(r.text).not.toContain('\x81\x02hi');
    },
  );

  it.each([
    ['short-body', 'only part'],
    ['reset-mid-body', 'first part'],
    ['reset-after-head', ''],
  ])('relays %s as far as it came, then cuts the caller’s connection, with one record', async (key, sent) => {
    const r = await get(key);
    const [answer] = responsesOf(r.text);
    expect([answer?.status, answer?.body, answer?.complete, r.closedByServer, r.records]).toEqual([200, sent, false, true, 1]);
    expect(r.ms).toBeLessThan(3000);
  });

  it('leaves a caller still sending its body the head of an upstream that failed right after it, then ends the connection within a bound', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    for (let round = 0; round < 5; round++) {
      const started = Date.now();
      // The upstream reads no body: the caller's bytes are still in flight, unread by iamgate, when
      // the upstream fails, as they are for any caller uploading a large body.
      const r = await exchange(c.port, `GET /orders/reset-after-head-unread HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\nContent-Length: ${8 * 1024 * 1024}\r\n\r\n`, {
        timeoutMs: 5000,
        drive: async (socket) => {
          // The caller reads its answer only after a while, as a client busy sending does: after the
          // upstream's reset (50 ms after its head), well within the 250 ms a cut connection lingers
          // for its reader (REFUSED_LINGER_MS), which is the bound this pins.
          socket.pause();
          setTimeout(() => socket.resume(), 100);
          for (let sent = 0; sent < 8 * 1024 * 1024 && !socket.destroyed; sent += chunk.length) {
            if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
          }
        },
      });
      const [answer] = responsesOf(r.text);
      const id = /\r\nx-iamgate-request-id: *([^\r]+)/i.exec(r.text)?.[1];
      expect([round, answer?.status, answer?.complete, r.closedByServer, gw.audit.decisionsFor(id ?? '').length]).toEqual([round, 200, false, true, 1]);
      expect(Date.now() - started).toBeLessThan(4000);
    }
  });

  it.each([
    ['long-body', 200, 'hello'],
    ['no-content-with-body', 204, ''],
    ['not-modified-with-body', 304, ''],
    // A 304 may name the length of the representation it stands for (RFC 9110 §8.6).
    ['not-modified-with-length', 304, ''],
  ])('passes on %s as %i with its body only, and what the upstream wrote after it never becomes the next caller’s answer', async (key, status, body) => {
    for (let round = 0; round < 5; round++) {
      const alice = await get(key);
      const bob = await get('plain', 'bob');
      expect([responsesOf(alice.text).map((a) => [a.status, a.body]), alice.records]).toEqual([[[status, body]], 1]);
      expect([responsesOf(bob.text).map((a) => [a.status, a.body]), bob.records]).toEqual([[[200, 'plain']], 1]);
      expect(alice.text + bob.text).not.toMatch(/smuggled|x-smuggled/i);
    }
  });

  it.each(['no-content-with-body', 'no-content-chunked'])(
    'sends the caller %s as a 204 whose head names no Content-Length or Transfer-Encoding (RFC 9110 §8.6), its other headers kept',
    async (key) => {
      const r = await get(key);
      expect(r.text.startsWith('HTTP/1.1 204 ')).toBe(true);
      expect(headerLines(r.text).filter((l) => /^(content-length|transfer-encoding):/i.test(l))).toEqual([]);
      expect(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).toBe('');
      expect(r.records).toBe(1);
      if (key === 'no-content-chunked') expect(headerLines(r.text)).toContain('ETag: "v2"');
    },
  );

  it('keeps a 304’s Content-Length, the length of the representation it stands for, and sends no body', async () => {
    const r = await get('not-modified-with-length');
    expect(r.text.startsWith('HTTP/1.1 304 ')).toBe(true);
    expect(headerLines(r.text)).toContain('Content-Length: 1234');
    expect(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).toBe('');
  });

  it('drops the upstream’s trailers, so none can speak as an iamgate header after the body', async () => {
    const r = await get('trailers');
    const [answer] = responsesOf(r.text);
    expect([answer?.status, answer?.complete, r.records]).toEqual([200, true, 1]);
    expect(answer?.body).toBe('2\r\nok\r\n0\r\n\r\n');
    expect(r.text).not.toMatch(/forged|x-checksum|^trailer:/im);
  });

  it('closes the upstream’s connection soon after the caller leaves a body that never ends', async () => {
    closedAt.delete('endless-body');
    const r = await get('endless-body', 'alice', (text) => text.includes('chunk'));
    const left = Date.now();
    expect([r.text.startsWith('HTTP/1.1 200 '), r.records]).toEqual([true, 1]);
    await expect.poll(() => closedAt.get('endless-body'), { timeout: 3000, interval: 20 }).toBeDefined();
    expect(closedAt.get('endless-body')! - left).toBeLessThan(2000);
  });
});
