// The operational log (pino) under hostile strings: a caller's value that reaches a log line (here
// the issuer of an unverified token, which a refusal's line names) can never end the line early
// for any reader, so nothing after it reads as a line iamgate wrote. JSON escapes CR, LF and the
// other C0 controls; NEL, U+2028 and U+2029 it leaves raw, and readers such as Python's
// str.splitlines break lines on them, so iamgate writes them as escapes too.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/app/index.js';
import type { Iamgate } from '../../src/app/index.js';
import { FIXTURES } from '../support/gateway.js';
import { startIamgate } from '../support/iamgate.js';
import { rawRequest } from '../support/net.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';

/** Every character some reader breaks a line on (Python's str.splitlines splits on each). */
const LINE_BREAKS = /[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

const written: string[] = [];
let iamgate: Iamgate;
let upstream: TestUpstream;
let dir: string;

beforeAll(async () => {
  upstream = await startTestUpstream();
  dir = await mkdtemp(join(tmpdir(), 'iamgate-log-lines-'));
  ({ iamgate } = await startIamgate({
    doc: {
      version: 1,
      mode: 'development',
      listen: { host: '127.0.0.1', port: 0 },
      operations: { host: '127.0.0.1', port: 0 },
      upstream: { url: upstream.url },
      auth: {
        stateDir: dir,
        sts: { enabled: false },
        issuers: [{ name: 'dev', issuer: 'https://dev.test', audiences: ['iamgate'], algorithms: ['ES256'], keyFile: join(dir, 'dev-key.json'), developmentKey: true }],
      },
      policies: { directory: FIXTURES.directory, routes: FIXTURES.routes },
    },
    deps: { logger: createLogger('info', { write: (line: string) => void written.push(line) }) },
  }));
}, 30_000);

afterAll(async () => {
  await iamgate?.stop(1000);
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** A token shaped like a JWT, naming `iss`, that no key signed: refused as of an unknown issuer, before any key is needed. */
const tokenNaming = (iss: string): string => `${base64url({ alg: 'ES256', typ: 'JWT' })}.${base64url({ iss, sub: 'alice', aud: 'iamgate', iat: 1, exp: 4102444800 })}.${'A'.repeat(86)}`;

describe('a log line naming a caller’s value', () => {
  const ISSUERS = [
    'https://evil.test\u2028{"level":60,"msg":"forged by the caller"}',
    'https://evil.test\u2029{"level":60}',
    'https://evil.test\u0085{"level":60}',
    'https://evil.test\n{"level":60}',
    'https://evil.test\r\u001b[2J',
  ];

  it('stays one line for every line reader, and reads back as the value the caller sent', async () => {
    written.length = 0;
    for (const iss of ISSUERS) {
      const res = await rawRequest(`${iamgate.gateway.url}/orders/1`, { headers: { authorization: `Bearer ${tokenNaming(iss)}` } });
      expect([iss, res.status]).toEqual([iss, 401]);
    }
    const lines = written.join('').split('\n').slice(0, -1);
    expect(lines.filter((line) => LINE_BREAKS.test(line))).toEqual([]);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.filter((r) => r['level'] === 60)).toEqual([]);
    expect(records.filter((r) => r['msg'] === 'request rejected').map((r) => r['detail'])).toEqual(ISSUERS);
  });
});
