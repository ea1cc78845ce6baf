// What a rejection writes to the operational log at the default level (`info`). A request without
// a token is refused with nothing to add to its audit record: it writes no log line, so
// unauthenticated traffic (scanners, clients not yet configured) costs no logging: a line a deny
// adds some 40% to its CPU (docs/benchmarks-history.md, "Changes after the 09:40 run"). A deny
// writes its explanation, as docs/configuration.md promises (`decisions.explainToCaller`): one
// `request rejected` line per deny. Each leaves exactly one audit record either way.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/app/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const written: string[] = [];
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ logger: createLogger('info', { write: (line: string) => void written.push(line) }) });
}, 30_000);

afterAll(async () => {
  await gw?.close();
});

/** Sends `method /orders/1` (with `authorization` when given) and returns its status and request id. */
async function send(method: string, authorization?: string): Promise<{ status: number; requestId: string }> {
  const res = await request(`${gw.url}/orders/1`, { method, headers: authorization === undefined ? {} : { authorization } });
  await res.body.dump();
  return { status: res.statusCode, requestId: String(res.headers['x-iamgate-request-id']) };
}

/** The log lines written so far that name `requestId`. */
const linesFor = (requestId: string): Record<string, unknown>[] =>
  written
    .join('')
    .split('\n')
    .filter((line) => line.includes(requestId))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('rejections in the operational log at the info level', () => {
  it('a request without a token writes no log line, and leaves one audit record', async () => {
    const answers = [await send('GET'), await send('GET'), await send('GET')];
    for (const { status, requestId } of answers) {
      expect(status).toBe(401);
      expect(linesFor(requestId)).toEqual([]);
      expect(gw.audit.decisionsFor(requestId).map((e) => e.reason)).toEqual(['token_missing']);
    }
  });

  it('a deny writes one request rejected line with its explanation, and leaves one audit record', async () => {
    const { status, requestId } = await send('DELETE', await gw.bearer('alice'));
    expect(status).toBe(403);
    expect(linesFor(requestId)).toEqual([expect.objectContaining({ level: 30, msg: 'request rejected', code: 'implicit_deny', detail: expect.stringMatching(/^Implicitly denied/) })]);
    expect(gw.audit.decisionsFor(requestId).map((e) => e.reason)).toEqual(['implicit_deny']);
  });
});
