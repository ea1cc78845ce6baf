// The audit trail under hostile strings: every character a caller can put in a recorded field
// (the path and the resource its route parameters make, through the proxy and forward-auth) either
// is refused before it is recorded, or reaches the record escaped or whole, or cut with the
// documented mark. Each answer leaves exactly one record, on one line for every line reader, and
// the trail, closed by the stop with a signed digest, verifies. Caller headers that do not reach a
// record (User-Agent, X-Request-Id, traceparent) are pinned in test/adversarial/caller-chosen-labels.test.ts.
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CUT_MARK, FIELD_LIMITS } from '../../src/audit/index.js';
import type { TrailRecord } from '../audit/served.js';
import { useGeneratedGateway } from './support/generated.js';
import { exchange, jsonOf } from './support/raw.js';

const gw = useGeneratedGateway();
const ORDER_ARN = 'arn:aws:orders:us-east-1:111122223333:order/';
/** Characters some line reader takes for a line break: Python's str.splitlines splits on each. */
const LINE_BREAKS = /[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

afterAll(async () => {
  if (!('stopAndVerify' in gw)) return;
  const report = await gw.stopAndVerify();
  const text = await readFile(gw.trailFile, 'utf8');
  const lines = text.split('\n').slice(0, -1);
  expect(lines.filter((line) => LINE_BREAKS.test(line))).toEqual([]);
  expect(report.findings).toEqual([]);
  expect([report.status, report.records]).toEqual(['ok', lines.length]);
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly records: TrailRecord[];
}

/** Sends one raw request as alice and reads its answer and the decision records it left. */
async function send(head: string | Buffer): Promise<Answer> {
  await gw.fresh();
  const bytes = typeof head === 'string' ? `${head}\r\nHost: x\r\nAuthorization: ${gw.bearer.alice}\r\nConnection: close\r\n\r\n` : Buffer.concat([head, Buffer.from(`\r\nHost: x\r\nAuthorization: ${gw.bearer.alice}\r\nConnection: close\r\n\r\n`)]);
  const r = await exchange(gw.port, bytes);
  const status = r.statuses[0] ?? 0;
  const id = /\r\nx-iamgate-request-id: *([^\r]+)/i.exec(r.text)?.[1];
  const records = (await gw.fresh()).filter((rec) => rec['requestId'] === id);
  return { status, body: status === 200 ? {} : jsonOf(r.text), records };
}

describe('a path holding a character some reader takes for a line break', () => {
  it.each([
    ['NEL (U+0085)', '%C2%85'],
    ['the first C1 control (U+0080)', '%C2%80'],
    ['the last C1 control (U+009F)', '%C2%9F'],
    ['the line separator (U+2028)', '%E2%80%A8'],
    ['the paragraph separator (U+2029)', '%e2%80%a9'],
  ])('is refused as control_character when it holds %s, with one record and nothing forwarded', async (_name, encoded) => {
    const before = gw.upstream.received.length;
    const r = await send(`GET /orders/a${encoded}b HTTP/1.1`);
    expect([r.status, r.body['code'], r.body['reason']]).toEqual([400, 'bad_path', 'control_character']);
    expect(r.records.map((rec) => [rec['decision'], rec['reason']])).toEqual([['Deny', 'bad_path']]);
    expect(gw.upstream.received.length).toBe(before);
  });

  it('is refused the same when forward-auth is asked about it, raw or encoded', async () => {
    for (const uri of [Buffer.from('/orders/a\u2028b', 'utf8'), Buffer.from('/orders/a%E2%80%A8b'), Buffer.from('/orders/a\u0085b', 'utf8')]) {
      const r = await send(Buffer.concat([Buffer.from('GET /.iamgate/authz HTTP/1.1\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Uri: '), uri]));
      expect([uri.toString('latin1'), r.status, r.body['reason'], r.records.length]).toEqual([uri.toString('latin1'), 400, 'control_character', 1]);
    }
  });

  it('is refused the same in the method forward-auth is told, as forward_auth_incomplete, with one record that holds the call\'s own method', async () => {
    for (const byte of [0x85, 0xa0, 0xff]) {
      const method = Buffer.concat([Buffer.from('GE'), Buffer.from([byte]), Buffer.from('T')]);
      const r = await send(Buffer.concat([Buffer.from('GET /.iamgate/authz HTTP/1.1\r\nX-Forwarded-Uri: /orders/1\r\nX-Forwarded-Method: '), method]));
      expect([byte, r.status, r.body['code'], r.records.map((rec) => [rec['reason'], rec['method']])]).toEqual([byte, 400, 'forward_auth_incomplete', [['forward_auth_incomplete', 'GET']]]);
    }
  });

  it('still lets through characters beside them that no reader breaks a line on (U+2027, U+202A, U+00A0)', async () => {
    for (const encoded of ['%E2%80%A7', '%E2%80%AA', '%C2%A0']) {
      const r = await send(`GET /orders/a${encoded}b HTTP/1.1`);
      expect([encoded, r.status, r.records.map((rec) => rec['decision'])]).toEqual([encoded, 200, ['Allow']]);
    }
  });
});

describe('a recorded value longer than its field', () => {
  it('is written as its first characters and the cut mark, so it never reads as the shorter resource it starts with', async () => {
    const room = FIELD_LIMITS.resource - ORDER_ARN.length;
    const whole = await send(`GET /orders/${'x'.repeat(room)} HTTP/1.1`);
    const longer = await send(`GET /orders/${'x'.repeat(room + 100)} HTTP/1.1`);
    expect([whole.status, longer.status]).toEqual([200, 200]);
    const [kept] = whole.records.map((rec) => String(rec['resource']));
    const [cut] = longer.records.map((rec) => String(rec['resource']));
    expect(kept).toBe(`${ORDER_ARN}${'x'.repeat(room)}`);
    expect(cut).toBe(`${kept}${CUT_MARK}`);
  });

  it('keeps a character outside the BMP whole where the cut falls inside it', async () => {
    const room = FIELD_LIMITS.resource - ORDER_ARN.length;
    // One ASCII character first puts the cut between the two halves of an emoji.
    const r = await send(`GET /orders/y${'%F0%9F%98%80'.repeat(room)} HTTP/1.1`);
    expect(r.status).toBe(200);
    const resource = String(r.records[0]?.['resource']);
    expect(resource).toBe(`${ORDER_ARN}y${'\u{1F600}'.repeat(Math.ceil((room - 1) / 2))}${CUT_MARK}`);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(resource)).toBe(false);
  });

  it('is cut the same in the path, with one record per answer', async () => {
    const r = await send(`GET /orders/${'p'.repeat(FIELD_LIMITS.path)} HTTP/1.1`);
    expect([r.status, r.records.length]).toEqual([200, 1]);
    expect(r.records[0]?.['path']).toBe(`/orders/${'p'.repeat(FIELD_LIMITS.path - '/orders/'.length)}${CUT_MARK}`);
  });
});
