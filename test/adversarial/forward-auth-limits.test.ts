// What a forward-auth call can make iamgate hold. The endpoint decides on the headers alone and
// never reads a body: a call that sends one, however large or endless, is answered and its
// connection closed, so the body is never buffered and the connection never lingers.
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { useCallers } from './support/callers.js';

const MIB = 1024 * 1024;

/** What a client that keeps sending body after its head saw: the answer, and how much it could send before the connection ended. */
function sendEndlessly(port: number, head: string, chunk: (n: number) => Buffer): Promise<{ answer: string; sent: number }> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let answer = '';
    let sent = 0;
    let n = 0;
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ answer, sent }));
    const pump = (): void => {
      // Stops at 256 MiB: a server still reading by then holds what it should not.
      while (!socket.destroyed && sent < 256 * MIB) {
        const data = chunk(n++);
        sent += data.length;
        if (!socket.write(data)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!socket.destroyed) socket.end();
    };
    socket.write(head);
    pump();
  });
}

describe('forward-auth calls with a body', () => {
  const gw = useTestGateway({ config: { forwardAuth: { enabled: true } } });
  const c = useCallers(gw);
  const head = (framing: string): string => `POST /.iamgate/authz HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URI: /orders/12\r\n${c.line.alice}\r\n${framing}\r\n\r\n`;
  const block = Buffer.alloc(64 * 1024, 'a');

  it('are answered on their headers and their connection closed, however long the declared body', async () => {
    const before = gw.audit.events.length;
    const { answer, sent } = await sendEndlessly(c.port, head(`Content-Length: ${1024 * 1024 * MIB}`), () => block);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(sent).toBeLessThan(256 * MIB);
    expect(gw.audit.events.slice(before).filter((e) => e.kind !== 'outcome')).toHaveLength(1);
  });

  it('are answered and closed when the body is chunked and never ends', async () => {
    const chunk = Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')]);
    const { answer, sent } = await sendEndlessly(c.port, head('Transfer-Encoding: chunked'), () => chunk);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(sent).toBeLessThan(256 * MIB);
  });

  it('are refused 431 with one audit record when their headers pass limits.maxHeaderBytes, the body never read', async () => {
    const before = gw.audit.events.length;
    const padded = head(`X-Padding: ${'a'.repeat(gw.config.limits.maxHeaderBytes)}\r\nContent-Length: ${MIB}`);
    const { answer } = await sendEndlessly(c.port, padded, () => block);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(gw.audit.events.slice(before).filter((e) => e.kind !== 'outcome')).toEqual([expect.objectContaining({ status: 431 })]);
  });
});
