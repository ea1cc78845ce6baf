// Generated header values — CR, LF, NUL, `"`, `\`, U+2028, obs-folds, Latin-1 and very long values,
// each carrying a marker — in every header iamgate reads (Authorization, Host, the trace context,
// X-Forwarded-*, the request id and identity headers a caller might forge, forward-auth's describing
// headers, a route's condition header, User-Agent, Expect, Connection), sent raw to the gateway as
// `iamgate serve` assembles it. For every one: the marker is never in the answer's headers (nor in
// the body of an answer iamgate writes itself), never in an identity header the upstream receives,
// whose identity headers are exactly iamgate's own, once each, naming the caller the trail records;
// the answer's record is one JSON line, and no credential the caller sent is ever in the trail.
// The same values sent to the gRPC ext_authz server are never in its check response.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runsOf, useGeneratedGateway } from './support/generated.js';
import { exchange, responsesOf } from './support/raw.js';
import { utf8 } from './support/requests.js';
import { readFile } from 'node:fs/promises';

const gw = useGeneratedGateway();

/** Headers iamgate reads, or that a caller might hope it passes on as its own. */
const READ = [
  'Authorization', 'Host', 'traceparent', 'tracestate', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'Forwarded', 'X-Real-IP',
  'X-Iamgate-Request-Id', 'X-Request-Id', 'X-Iamgate-Principal', 'X-Iamgate-Account', 'X-Iamgate-Mfa', 'X-Iamgate-Session', 'X-Iamgate-Assertion',
  'X-Original-URI', 'X-Original-Method', 'X-Forwarded-Uri', 'X-Forwarded-Method', 'X-Client-Id', 'User-Agent', 'Referer', 'Expect', 'Connection', 'Upgrade', 'Content-Type',
] as const;

/** What goes around the marker: nothing, or characters a reader of headers, logs or JSON must not be fooled by. */
const NASTY = [
  '', '"', '\\', '\r', '\n', '\r\n', '\r\nX-Iamgate-Principal: arn:aws:iam::111122223333:user/bob', '\r\n folded', '\u0000', '\t', utf8('\u2028'), utf8('\u2029'), utf8('é'), '\u00e9',
  '%0d%0a', '<script>', "'", ', 203.0.113.5', ';proto=https', 'x'.repeat(9000), '\u007f', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
];

interface Line {
  readonly name: string;
  readonly before: string;
  readonly after: string;
}

const line: fc.Arbitrary<Line> = fc.record({ name: fc.constantFrom(...READ), before: fc.constantFrom(...NASTY), after: fc.constantFrom(...NASTY) });

/** A request that would be allowed, and the lines carrying the marker. */
const BASES = [
  { target: '/admin/users', lines: ['X-Client-Id: ops-console'] },
  { target: '/orders/1', lines: [] },
  { target: '/.iamgate/authz', lines: ['X-Original-Method: GET', 'X-Original-URI: /orders/1'] },
] as const;

let counter = 0;
let forwarded = 0;

async function reflect(base: (typeof BASES)[number], lines: readonly Line[], keepAuthorization: boolean): Promise<void> {
  counter += 1;
  const marker = `mk${counter.toString(36)}zq`;
  const sent = lines.map((l) => `${l.name}: ${l.before}${marker}${l.after}`);
  const text = [`GET ${base.target} HTTP/1.1`, 'Host: orders.example', ...(keepAuthorization ? [`Authorization: ${gw.bearer.alice}`] : []), ...base.lines, ...sent, 'Connection: close', '', ''].join('\r\n');
  const shown = JSON.stringify(text.length > 600 ? `${text.slice(0, 600)}...` : text);
  const received = gw.upstream.received.length;
  const ex = await exchange(gw.port, Buffer.from(text, 'latin1'), { timeoutMs: 5000 });
  expect([shown, ex.timedOut]).toEqual([shown, false]);
  const answers = responsesOf(ex.text);
  const final = answers.filter((a) => a.status >= 200);
  expect([shown, final.length]).toEqual([shown, 1]);
  const answer = final[0]!;
  for (const a of answers) expect([shown, a.head.includes(marker)]).toEqual([shown, false]);
  const own = !/\r\nx-upstream: yes\r\n/i.test(`${answer.head}\r\n`);
  if (own) expect([shown, answer.body.includes(marker)]).toEqual([shown, false]);
  const id = /\r\nx-iamgate-request-id: ([^\r\n]*)/i.exec(answer.head)?.[1];
  expect([shown, typeof id]).toEqual([shown, 'string']);
  const records = await gw.fresh();
  expect([shown, records.map((r) => r['requestId'])]).toEqual([shown, [id]]);
  const arn = (records[0]!['principal'] as { arn?: string } | undefined)?.arn;
  for (const seen of gw.upstream.received.slice(received)) {
    forwarded++;
    const identity: [string, string][] = [];
    for (let i = 0; i < seen.rawHeaders.length; i += 2) if (seen.rawHeaders[i]!.toLowerCase().startsWith('x-iamgate-')) identity.push([seen.rawHeaders[i]!.toLowerCase(), seen.rawHeaders[i + 1]!]);
    expect([shown, identity.sort()]).toEqual([shown, [['x-iamgate-account', '111122223333'], ['x-iamgate-mfa', 'false'], ['x-iamgate-principal', arn], ['x-iamgate-request-id', id]]]);
  }
}

describe('a generated header value', () => {
  it('is never reflected in an answer\'s headers or an identity header, and its record stays one JSON line without the caller\'s credentials', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BASES), fc.array(line, { minLength: 1, maxLength: 3 }), fc.boolean(), async (base, lines, auth) => reflect(base, lines, auth || !lines.some((l) => l.name === 'Authorization'))),
      runsOf(Number(process.env['FC_RUNS'] ?? 300)),
    );
    expect(forwarded).toBeGreaterThan(20);
    const trail = await readFile(gw.trailFile, 'utf8');
    for (const record of trail.split('\n').slice(0, -1)) expect(() => JSON.parse(record) as unknown, record).not.toThrow();
    expect(trail.includes(gw.bearer.alice.slice('Bearer '.length))).toBe(false);
  }, 240_000);

  let allowed = 0;
  it('sent to the gRPC ext_authz server, is never in the check response, whose identity headers name the caller the trail records', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BASES.slice(0, 2)), fc.array(line, { minLength: 1, maxLength: 3 }), async (base, lines) => {
        counter += 1;
        const marker = `mk${counter.toString(36)}zq`;
        const headers = [['authorization', gw.bearer.alice], ...base.lines.map((l) => l.split(': ') as [string, string]), ...lines.map((l) => [l.name.toLowerCase(), `${l.before}${marker}${l.after}`])];
        const shown = JSON.stringify(headers.slice(1));
        await gw.fresh();
        const answer = await gw.grpc.check({
          attributes: {
            source: { address: { socket_address: { address: '127.0.0.1', port_value: 51000 } } },
            request: { http: { method: 'GET', path: base.target, host: 'orders.example', scheme: 'http', protocol: 'HTTP/1.1', header_map: { headers: headers.map(([key, v]) => ({ key, raw_value: Buffer.from(v!, 'latin1') })) } } },
          },
        });
        expect([shown, JSON.stringify(answer).includes(marker)]).toEqual([shown, false]);
        const records = await gw.fresh();
        expect([shown, records.length]).toEqual([shown, 1]);
        const arn = (records[0]!['principal'] as { arn?: string } | undefined)?.arn;
        const identity = (answer.ok_response?.headers ?? []).filter((h) => h.header?.key?.startsWith('x-iamgate-principal'));
        expect([shown, identity.map((h) => h.header?.value)]).toEqual([shown, answer.ok_response ? [arn] : []]);
        if (answer.ok_response) allowed++;
      }),
      runsOf(Number(process.env['FC_RUNS'] ?? 200)),
    );
    expect(allowed).toBeGreaterThan(10);
  }, 240_000);
});
