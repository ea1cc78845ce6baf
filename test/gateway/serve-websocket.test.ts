// `iamgate serve` as a real process carries a WebSocket end to end: a raw client's opening handshake
// (as a browser sends it, extensions and a subprotocol offered), the 101 with the accept for the
// client's own key, a masked text frame the upstream echoes, and the closing handshake.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devConfigYaml } from '../support/gateway.js';
import { freePort } from '../support/redis.js';
import { mintBearer, serve, useTempDir, waitReady } from '../support/serve-process.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';

const CLIENT_KEY = 'x3JJHMbDL1EzLkh9GBhXDw==';

/** A client's masked frame (RFC 6455 §5.2) of a short payload. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

/** A raw connection that collects what it receives and waits, up to a deadline, until enough has. */
function rawClient(port: number): { socket: net.Socket; received: () => Buffer; until(enough: (bytes: Buffer) => boolean): Promise<Buffer> } {
  const socket = net.connect(port, '127.0.0.1');
  let bytes = Buffer.alloc(0);
  const waiting = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    bytes = Buffer.concat([bytes, d]);
    for (const check of waiting) check();
  });
  socket.on('close', () => {
    for (const check of waiting) check();
  });
  return {
    socket,
    received: () => bytes,
    until(enough) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(check);
          reject(new Error(`not enough after 10 s: ${JSON.stringify(bytes.toString('latin1'))}`));
        }, 10_000);
        const check = (): void => {
          if (!enough(bytes) && !socket.destroyed) return;
          waiting.delete(check);
          clearTimeout(timer);
          resolve(bytes);
        };
        waiting.add(check);
        check();
      });
    },
  };
}

describe('iamgate serve with a WebSocket client', { timeout: CHILD_PROCESS_TEST_MS }, () => {
  const dir = useTempDir('iamgate-serve-ws-');
  let upstream: TestUpstream;
  beforeAll(async () => {
    upstream = await startTestUpstream();
  });
  afterAll(() => upstream?.close());

  it('opens the tunnel with the accept for the client’s key, echoes a frame through it and closes it cleanly', async () => {
    const port = await freePort();
    const opsPort = await freePort();
    const file = join(dir(), 'iamgate.yaml');
    await writeFile(file, devConfigYaml({ port, opsPort, upstreamUrl: upstream.url }));
    const child = serve(['--config', file]);
    try {
      await waitReady(opsPort, child);
      const authorization = await mintBearer(file, 'alice');
      const client = rawClient(port);
      client.socket.write(
        'GET /ws HTTP/1.1\r\nHost: orders.example\r\n' +
          `Authorization: ${authorization}\r\n` +
          'Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
          `Sec-WebSocket-Key: ${CLIENT_KEY}\r\n` +
          'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nSec-WebSocket-Protocol: chat\r\n\r\n',
      );
      const head = (await client.until((b) => b.includes('\r\n\r\n'))).toString('latin1');
      expect(head.startsWith('HTTP/1.1 101 ')).toBe(true);
      const accept = createHash('sha1').update(`${CLIENT_KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      expect(head).toMatch(new RegExp(`\\r\\nsec-websocket-accept: ${accept.replace(/[+/]/g, '\\$&')}\\r\\n`, 'i'));
      expect(head).toMatch(/\r\nupgrade: websocket\r\n/i);
      const headLength = head.indexOf('\r\n\r\n') + 4;

      client.socket.write(maskedFrame(0x1, Buffer.from('hello')));
      const echo = Buffer.from('echo:hello');
      const afterText = await client.until((b) => b.length >= headLength + 2 + echo.length);
      expect(afterText.subarray(headLength)).toEqual(Buffer.concat([Buffer.from([0x81, echo.length]), echo]));

      client.socket.write(maskedFrame(0x8, Buffer.alloc(0)));
      const afterClose = await client.until((b) => b.length >= headLength + 2 + echo.length + 2);
      expect(afterClose.subarray(headLength + 2 + echo.length)).toEqual(Buffer.from([0x88, 0]));
      client.socket.destroy();
    } finally {
      if (child.process.exitCode === null) child.process.kill('SIGKILL');
    }
  });
});
