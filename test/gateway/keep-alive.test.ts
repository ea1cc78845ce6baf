// iamgate's own answers to a request without a body keep the connection open, also when they are
// decided synchronously (a cached token, a cached deny, no token at all: nothing awaited, so the
// answer is ready while Node is still parsing the request). The gateway here runs the configured
// token verifier and a synchronous audit sink, so the whole decision happens in the 'request' event.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIamgate, loadConfig, type Iamgate } from '../../src/app/index.js';
import { tokenFor } from '../audit/served.js';
import { devConfigYaml, recordingAudit } from '../support/gateway.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';

/** One keep-alive connection that sends a request at a time and reads its answer (JSON, with a Content-Length). */
function connection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve('closed')));
  let received = '';
  const answers: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    for (;;) {
      const end = received.indexOf('\r\n\r\n');
      const length = end < 0 ? undefined : /content-length: (\d+)/i.exec(received.slice(0, end))?.[1];
      if (length === undefined || received.length < end + 4 + Number(length)) break;
      answers.push(received.slice(0, end + 4 + Number(length)));
      received = received.slice(end + 4 + Number(length));
      wake?.();
    }
  });
  return {
    /** The answer to `request`, or `closed` when iamgate closes the connection first. */
    send(request: string): Promise<string> {
      const count = answers.length;
      const answered = new Promise<string>((resolve) => {
        wake = () => {
          if (answers.length > count) resolve(answers[count]!);
        };
      });
      socket.write(request);
      return Promise.race([answered, closed]);
    },
    async close(): Promise<void> {
      socket.end();
      await closed;
    },
  };
}

describe('rejections decided without waiting', () => {
  let dir: string;
  let upstream: TestUpstream;
  let iamgate: Iamgate;
  let alice: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-keepalive-'));
    upstream = await startTestUpstream();
    const file = join(dir, 'iamgate.yaml');
    await writeFile(file, devConfigYaml({ port: 0, opsPort: 0, upstreamUrl: upstream.url }));
    const loaded = await loadConfig({ file, env: {} });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    iamgate = await createIamgate(loaded.config, { logger: pino({ level: 'silent' }), audit: recordingAudit() });
    expect((await iamgate.gateway.initialLoad).ok).toBe(true);
    alice = await tokenFor(file, 'alice');
  });

  afterAll(async () => {
    await iamgate?.stop(0);
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the connection open after a 401 and a 403 to requests without a body', async () => {
    const c = connection(Number(new URL(iamgate.gateway.url).port));
    const deny = `DELETE /orders/1 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${alice}\r\n\r\n`;
    const anonymous = 'GET /orders/1 HTTP/1.1\r\nHost: gw\r\n\r\n';
    // The first deny verifies the token (awaited); the second is answered from the caches.
    const answers = [await c.send(deny), await c.send(anonymous), await c.send(deny), await c.send(anonymous)];
    expect(answers.map((a) => a.slice(0, 12))).toEqual(['HTTP/1.1 403', 'HTTP/1.1 401', 'HTTP/1.1 403', 'HTTP/1.1 401']);
    for (const a of answers) expect(a.toLowerCase()).not.toContain('connection: close');
    await c.close();
  });
});
