// A request whose body can never arrive whole: the caller stops sending it past
// `listen.requestTimeoutMs`, breaks its chunked framing midway, or ends its side of the connection
// before the declared length. The request was allowed and is being forwarded (or read by the STS)
// when that happens. Its answer must come under the request's own id, and the trail must say why the
// request ended (the failure and the status the caller got), never name an answer it does not hold,
// nor a caller gone that is still there. The gateway runs as the compiled `iamgate serve`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSED_DEADLINE_MS } from '../../src/proxy/index.js';
import { decisionsFor, readTrail, tokenFor, type TrailRecord } from '../audit/served.js';
import { metricsPage, metricValue } from '../support/serve-process.js';
import { makeSigningKey, signCompact, type SigningKey } from './support/idp.js';
import { holdsWithin, until } from '../support/until.js';
import { exchange, jsonOf, responsesOf, sleep, type RawExchange } from './support/raw.js';
import { useBuiltServe } from './support/served.js';

const REQUEST_TIMEOUT_MS = 2000;

/** An identity provider whose JWKS answers wait until released: a decision on its token waits as long. */
const SLOW_ISSUER = 'https://slow.idp.test';
let slowKey: SigningKey;
const heldAnswers: (() => void)[] = [];
const slowJwks = http.createServer((_req, res) => {
  heldAnswers.push(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [{ ...slowKey.publicJwk, kid: 'slow-1', alg: 'ES256', use: 'sig' }] })));
});
beforeAll(async () => {
  slowKey = await makeSigningKey();
  await new Promise<void>((resolve) => slowJwks.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  for (const answer of heldAnswers.splice(0)) answer();
  slowJwks.closeAllConnections();
  await new Promise((resolve) => slowJwks.close(resolve));
});

const served = useBuiltServe({
  listen: `headersTimeoutMs: 1000, requestTimeoutMs: ${REQUEST_TIMEOUT_MS}`,
  issuers: () => [`{ name: slow, issuer: "${SLOW_ISSUER}", audiences: [iamgate], algorithms: [ES256], jwksUrl: "http://127.0.0.1:${(slowJwks.address() as AddressInfo).port}/jwks.json", jwks: { timeoutMs: 30000 } }`],
});
let port: number;
let alice: string;

beforeAll(async () => {
  port = served.port;
  alice = await tokenFor(served.files.config, 'alice');
});

/** The answer's status, the request id its header names and the JSON body's code and request id. */
function answerOf(r: RawExchange): { status: number; headerId: string | undefined; code: unknown; bodyId: unknown } {
  const [first] = responsesOf(r.text);
  if (first === undefined) return { status: 0, headerId: undefined, code: undefined, bodyId: undefined };
  const body = jsonOf(r.text);
  return { status: first.status, headerId: /\r\nx-iamgate-request-id: *([^\r]+)/i.exec(first.head)?.[1], code: body['code'], bodyId: body['requestId'] };
}

/** The records of `requestId` once `done` says they are all there (polled, with a deadline). */
async function recordsOf(requestId: string, done: (records: readonly TrailRecord[]) => boolean): Promise<TrailRecord[]> {
  let records: TrailRecord[] = [];
  await holdsWithin(async () => done((records = (await readTrail(served.files.trail)).filter((r) => r['requestId'] === requestId))), 10_000, 50);
  return records;
}

const upload = (headers: string, body: string): string => `POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: text/plain\r\n${headers}\r\n${body}`;

describe('an allowed upload whose body never arrives whole', () => {
  it.each([
    { name: 'stops sending its body past listen.requestTimeoutMs', status: 408, code: 'request_timeout', payload: () => upload('Content-Length: 4096\r\n', 'the first bytes') },
    { name: 'breaks its chunked framing midway', status: 400, code: 'malformed_request', payload: () => upload('Transfer-Encoding: chunked\r\n', '5\r\nhello\r\nnot a chunk size\r\n') },
  ])('is answered $status $code under its own request id, whose outcome record says so, when the caller $name', async ({ status, code, payload }) => {
    const r = await exchange(port, payload(), { timeoutMs: REQUEST_TIMEOUT_MS + 8000 });
    const answer = answerOf(r);
    expect(answer).toEqual({ status, headerId: expect.any(String), code, bodyId: answer.headerId });
    expect(r.closedByServer).toBe(true);
    const records = await recordsOf(answer.headerId ?? '', (list) => list.some((x) => x.kind === 'outcome'));
    expect(decisionsFor(records, answer.headerId ?? '')).toEqual([expect.objectContaining({ kind: 'request', decision: 'Allow', path: '/upload' })]);
    expect(records.filter((x) => x.kind === 'outcome')).toEqual([expect.objectContaining({ reason: code, status })]);
  }, 30_000);
});

describe('an allowed update whose caller ends its side of the connection before the declared length', () => {
  it('is cut without an answer, and its outcome record says the caller went (client_closed, 499)', async () => {
    const path = `/orders/ended-${Date.now()}`;
    const head = `PUT ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: text/plain\r\nContent-Length: 4096\r\n\r\nthe first bytes`;
    const r = await exchange(port, head, { timeoutMs: 8000, drive: async (socket) => void socket.end() });
    expect([r.statuses, r.closedByServer]).toEqual([[], true]);
    let records: TrailRecord[] = [];
    const outcomeRecorded = async (): Promise<boolean> => {
      const trail = await readTrail(served.files.trail);
      const id = trail.find((x) => x['path'] === path)?.['requestId'];
      records = trail.filter((x) => id !== undefined && x['requestId'] === id);
      return records.some((x) => x.kind === 'outcome');
    };
    await holdsWithin(outcomeRecorded, 10_000, 50);
    expect(records.map((x) => [x.kind, x['reason'], x['status']])).toEqual([
      ['request', 'allowed', undefined],
      ['outcome', 'client_closed', 499],
    ]);
  }, 30_000);
});

describe('an STS call whose body never arrives whole', () => {
  it('is answered 408 request_timeout under the call’s own request id, whose record says request_timeout', async () => {
    const r = await exchange(port, `POST /.iamgate/sts/AssumeRole HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"RoleArn":`, {
      timeoutMs: REQUEST_TIMEOUT_MS + 8000,
    });
    const answer = answerOf(r);
    expect(answer).toEqual({ status: 408, headerId: expect.any(String), code: 'request_timeout', bodyId: answer.headerId });
    const records = await recordsOf(answer.headerId ?? '', (list) => list.length > 0);
    expect(records).toEqual([expect.objectContaining({ kind: 'sts', reason: 'request_timeout' })]);
  }, 30_000);
});

describe('an allowed upload whose body passes listen.requestTimeoutMs while its token is still being verified', () => {
  it('is answered 408 request_timeout under its own request id once allowed, however long after, and never forwarded', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signCompact(slowKey, { alg: 'ES256', kid: 'slow-1' }, { iss: SLOW_ISSUER, aud: 'iamgate', sub: 'alice', iat: now, exp: now + 600 });
    const arrivals = served.upstream.arrivals();
    const timedOut = (): Promise<number> => metricsPage(served.opsPort).then((page) => metricValue(page, 'iamgate_refused_connections_total', { listener: 'gateway', reason: 'request_timeout' }));
    const before = await timedOut();
    const answer = exchange(port, `POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 4096\r\n\r\nthe first bytes`, { timeoutMs: 20_000 });
    // The keys are released once the deadline has passed and the body was failed (counted as it is),
    // and later than the REFUSED_DEADLINE_MS a refused connection is given for its answer: the
    // answer is owed from when the request is decided, not from when its body failed.
    await until('the body counted as refused at its deadline', async () => (await timedOut()) !== before, 15_000, 100);
    expect(await timedOut()).toBe(before + 1);
    await sleep(REFUSED_DEADLINE_MS + 1000);
    for (const release of heldAnswers.splice(0)) release();
    const r = await answer;
    const got = answerOf(r);
    expect(got).toEqual({ status: 408, headerId: expect.any(String), code: 'request_timeout', bodyId: got.headerId });
    const records = await recordsOf(got.headerId ?? '', (list) => list.some((x) => x.kind === 'outcome'));
    expect(records.map((x) => [x.kind, x['reason'], x['status']])).toEqual([
      ['request', 'allowed', undefined],
      ['outcome', 'request_timeout', 408],
    ]);
    expect(served.upstream.arrivals()).toBe(arrivals);
  }, 40_000);
});

describe('after those', () => {
  it('the gateway still forwards an allowed upload whole', async () => {
    const res = await request(`http://127.0.0.1:${port}/upload`, { method: 'POST', headers: { authorization: `Bearer ${alice}` }, body: 'a whole body' });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });
});
