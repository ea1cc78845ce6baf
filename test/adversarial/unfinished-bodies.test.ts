// A request whose body can never arrive whole: the caller stops sending it past
// `listen.requestTimeoutMs`, breaks its chunked framing midway, or ends its side of the connection
// before the declared length. The request was allowed and is being forwarded (or read by the STS)
// when that happens. Its answer must come under the request's own id, and the trail must say why the
// request ended (the failure and the status the caller got), never name an answer it does not hold,
// nor a caller gone that is still there. The gateway runs as the compiled `iamgate serve`.
import { request } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { decisionsFor, readTrail, tokenFor, type TrailRecord } from '../audit/served.js';
import { exchange, jsonOf, responsesOf, sleep, type RawExchange } from './support/raw.js';
import { useBuiltServe } from './support/served.js';

const REQUEST_TIMEOUT_MS = 2000;

const served = useBuiltServe({ listen: `headersTimeoutMs: 1000, requestTimeoutMs: ${REQUEST_TIMEOUT_MS}` });
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
  const deadline = Date.now() + 10_000;
  for (;;) {
    const records = (await readTrail(served.files.trail)).filter((r) => r['requestId'] === requestId);
    if (done(records) || Date.now() > deadline) return records;
    await sleep(50);
  }
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
    const deadline = Date.now() + 10_000;
    let records: TrailRecord[] = [];
    while (!records.some((x) => x.kind === 'outcome') && Date.now() < deadline) {
      await sleep(50);
      const trail = await readTrail(served.files.trail);
      const id = trail.find((x) => x['path'] === path)?.['requestId'];
      records = trail.filter((x) => id !== undefined && x['requestId'] === id);
    }
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

describe('after those', () => {
  it('the gateway still forwards an allowed upload whole', async () => {
    const res = await request(`http://127.0.0.1:${port}/upload`, { method: 'POST', headers: { authorization: `Bearer ${alice}` }, body: 'a whole body' });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });
});
