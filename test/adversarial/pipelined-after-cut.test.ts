// A caller pipelining requests behind one whose connection iamgate cut (the upstream reset midway
// through its answer): what the caller sends after the cut is read and dropped. Node's parser still
// reads a request in it (it consumes a plain TCP socket's handle directly, whatever 'data' listeners
// are left), but that request waits for its turn behind the cut answer, which never finishes: it
// is never decided, recorded, forwarded or answered. The upstream, which records every request it
// receives, never sees it; a request on a new connection afterwards is served as usual.
import net from 'node:net';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';
import { responsesOf } from './support/raw.js';

/** Every request target the upstream received, in order. */
const received: string[] = [];

// An upstream that records each request it reads and, for `/orders/reset`, answers part of a body
// and then resets the connection: iamgate relays what came and cuts the caller's connection.
const upstream = net.createServer((socket) => {
  let buffered = '';
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
      const target = buffered.slice(0, buffered.indexOf('\r\n')).split(' ')[1] ?? '';
      buffered = buffered.slice(end + 4);
      received.push(target);
      if (target === '/orders/reset') {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part');
        setTimeout(() => socket.resetAndDestroy(), 50);
      } else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }
  });
});
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

/** Request-kind decision events (no `outcome`), in order. */
const decisionsOf = (events: readonly { kind: string }[]): { kind: string; requestId?: string; path?: string }[] => events.filter((e) => e.kind === 'request');

describe('a request pipelined after a connection iamgate cut', () => {
  const gw = useTestGateway({ upstreamUrl: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}` });
  const c = useCallers(gw);

  it('is never decided, recorded or forwarded, and the caller hears no answer to it', async () => {
    received.length = 0;
    const decisionsBefore = decisionsOf(gw.audit.events).length;
    // Half-open: the caller goes on writing after iamgate's FIN, as a pipelining client may.
    const socket = net.connect({ port: c.port, host: '127.0.0.1', allowHalfOpen: true });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(`GET /orders/reset HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\n\r\n`);
    // The cut: iamgate ends the connection after the part of the answer that came.
    await once(socket, 'end');
    const pipelined = ['/orders/after-cut-1', '/orders/after-cut-2'].map((path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\n\r\n`).join('');
    const wrote = await new Promise<unknown>((resolve) => socket.write(pipelined, resolve));
    expect(wrote ?? 'written').toBe('written');
    socket.end();
    await once(socket, 'close');

    const answers = responsesOf(text);
    expect(answers.map((a) => [a.status, a.body, a.complete])).toEqual([[200, 'first part', false]]);
    const id = /\r\nx-iamgate-request-id: *([^\r]+)/i.exec(text)?.[1];
    const decisions = decisionsOf(gw.audit.events).slice(decisionsBefore);
    expect(decisions.map((d) => [d.requestId, d.path])).toEqual([[id, '/orders/reset']]);
    // An allowed request that reaches the upstream is recorded first: this one proves the gateway
    // went on deciding and forwarding, and that nothing of the pipelined bytes got there before it.
    expect(await gw.statusOfGet('alice', '/orders/after')).toBe(200);
    expect(received).toEqual(['/orders/reset', '/orders/after']);
    expect(decisionsOf(gw.audit.events).slice(decisionsBefore).map((d) => d.path)).toEqual(['/orders/reset', '/orders/after']);
  });
});
