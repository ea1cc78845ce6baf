// Random methods, targets, headers and bodies sent as raw HTTP to the gateway as `iamgate serve`
// assembles it (audit trail in a file): every answer iamgate writes itself is JSON with a code from
// its tables, never a 500, never a stack or a path of its own files, and the answer's request id
// names exactly one decision record in the trail.
import fc from 'fast-check';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Iamgate } from '../../src/app/index.js';
import { readTrail, type ServedFiles } from '../audit/served.js';
import { startServedGateway, type ServedGateway } from './support/served.js';

let files: ServedFiles;
let served: Iamgate;
let gateway: ServedGateway;

beforeAll(async () => {
  gateway = await startServedGateway();
  ({ files, served } = gateway);
}, 30_000);

afterAll(async () => {
  await gateway?.close();
});

/** Sends `raw`, half-closes, and resolves with everything the gateway wrote once it closes. */
function send(raw: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(served.gateway.url).port), '127.0.0.1');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got));
    socket.end(raw);
  });
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'BREW', 'get', 'G\tET', ''];
const TARGETS = ['/', '/orders/1', '/orders/%', '/orders/%00', '/orders/..%2f..', '//orders', '*', 'http://x/orders/1', '/.iamgate/', '/.iamgate/forward-auth', '/.IAMGATE/sts/AssumeRole', '/.iamgate/sts//AssumeRole'];
const HEADER_NAMES = ['authorization', 'content-type', 'content-length', 'transfer-encoding', 'expect', 'x-forwarded-for', 'host', 'x-iamgate-request-id', 'upgrade', 'connection'];
const HEADER_VALUES = ['Bearer x', 'Bearer ', 'chunked', '100-continue', '0', '5', '-1', 'application/json', 'websocket', 'Upgrade', 'close', ''];
const line = (s: string): string => s.replace(/[\r\n]/g, '');
describe('every answer iamgate writes itself', () => {
  it('is JSON with a code, never a 500 or a trace of its own files, and its request id names exactly one decision record', async () => {
    const answers: { raw: string; requestId: string; code: string }[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...METHODS),
        fc.oneof(fc.constantFrom(...TARGETS), fc.string({ maxLength: 24 }).map((s) => `/${s.replace(/[\r\n ]/g, '')}`)),
        fc.array(fc.tuple(fc.constantFrom(...HEADER_NAMES), fc.oneof(fc.constantFrom(...HEADER_VALUES), fc.string({ maxLength: 16 }).map(line))), { maxLength: 4 }),
        fc.constantFrom('', '{}', '{"a":', 'x'.repeat(100)),
        async (method, target, headers, body) => {
          const raw = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
          const got = await send(raw);
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0);
          expect(status, raw).toBeGreaterThanOrEqual(200);
          expect(status, raw).not.toBe(500);
          const text = got.slice(got.indexOf('\r\n\r\n') + 4);
          expect(text, raw).not.toMatch(/\/work\/|node_modules|\.ts:\d+|\bat [\w.<>]+ \(/);
          if (status < 400) return;
          // One answer per connection: the refusal closes it.
          expect(got.match(/^HTTP\/1\.1 /gm), raw).toHaveLength(1);
          const answer = JSON.parse(text) as { code?: unknown; requestId?: unknown };
          expect(typeof answer.code, raw).toBe('string');
          if (typeof answer.requestId === 'string') answers.push({ raw, requestId: answer.requestId, code: String(answer.code) });
        },
      ),
      { numRuns: 150 },
    );
    const perRequest = new Map<string, number>();
    for (const r of await readTrail(files.trail)) {
      const id = r['requestId'];
      if (typeof id === 'string' && r.kind !== 'outcome') perRequest.set(id, (perRequest.get(id) ?? 0) + 1);
    }
    expect(answers.length).toBeGreaterThan(0);
    for (const a of answers) expect({ raw: a.raw, records: perRequest.get(a.requestId) ?? 0 }).toEqual({ raw: a.raw, records: 1 });
  }, 120_000);
});
