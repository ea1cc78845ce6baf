// A real `iamgate serve` whose trail goes to stdout, and the reader of stdout goes away (a pipe into
// a process that ended): requests are refused 503 audit_unavailable, and a stop still ends the
// process, every listener closed, with exit code 1 for the records it could not write, where the
// failed flush used to leave the operations listener open and the process running for ever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { tokenFor, writeServedConfig, type ServedFiles } from './served.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';
import { until } from '../support/until.js';

describe('a trail on stdout whose reader went away', () => {
  let upstream: TestUpstream;
  let files: ServedFiles;
  let server: ServeProcess;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url, sink: 'stdout' });
    server = await startServe(files.config, {});
  }, CHILD_PROCESS_TEST_MS);
  afterAll(async () => {
    server?.kill();
    await server?.exit;
    await files?.remove();
    await upstream?.close();
  });

  it('refuses requests 503, and a stop ends the process with exit code 1 and both ports closed', async () => {
    const token = await tokenFor(files.config, 'alice');
    server.closeStdout();
    await until('requests refused 503', async () => (await server.call('GET', '/orders/1', token)).status === 503, 10_000);
    expect(JSON.parse((await server.call('GET', '/orders/1', token)).body)).toMatchObject({ code: 'audit_unavailable' });

    server.signal('SIGTERM');
    expect(await server.exit).toBe(1);
    const gone = (port: number) => fetch(`http://127.0.0.1:${port}/readyz`).then(() => 'answered', () => 'refused');
    expect([await gone(server.opsPort), await gone(server.gatewayPort)]).toEqual(['refused', 'refused']);
  }, 60_000);
});
