// Generated raw HTTP/1.1 requests against the gateway as `iamgate serve` assembles it (real
// tokens, the trail in a signed file), checked for what must hold for every one of them:
// - what the upstream receives was authorised: the method, path and headers as the upstream sees
//   them, decided again by the engine over the same policy folder for the caller the trail names,
//   are allowed, under the path as received and as a WHATWG URL parser reads it, and under any
//   reading of a repeated header; the path forwarded is already normalised (nothing for the
//   upstream to resolve differently); the Host the upstream hears of is the one the caller sent;
// - one answer, one record: every answer names its request id once, in its header (and its body's
//   `requestId` when iamgate wrote it), and the trail holds exactly one decision record under that
//   id, an Allow exactly when the upstream was reached; refused requests never reach the upstream;
//   no answer is a 500; iamgate's own answers are JSON whose `error` is GATEWAY_ERRORS' name for
//   the status, with a `code`; every line of the trail is one JSON record and the chain verifies.
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { GATEWAY_ERRORS } from '../../src/errors/index.js';
import { compileTrustedProxies, normalizeTarget, sourceAddress } from '../../src/gateway/index.js';
import { decideOffline, resolvePrincipal } from '../../src/policy-testing/index.js';
import type { TrailRecord } from '../audit/served.js';
import type { Received } from '../support/upstream.js';
import { runsOf, useGeneratedGateway } from './support/generated.js';
import { exchange, responsesOf, type RawResponse } from './support/raw.js';
import { bytesOf, generatedRequest, type GeneratedRequest } from './support/requests.js';

const LOOPBACK = compileTrustedProxies(['127.0.0.1']);

const gw = useGeneratedGateway();

// Whatever the tests sent, in whatever order: every line of the trail is one JSON record, and the
// chain, closed by the stop with a signed digest, verifies with the published key. Runs before
// useGeneratedGateway's own hook closes the gateway.
afterAll(async () => {
  // The gateway did not start: its start's failure is the suite's.
  if (!('stopAndVerify' in gw)) return;
  const report = await gw.stopAndVerify();
  const lines = (await readFile(gw.trailFile, 'utf8')).split('\n').slice(0, -1);
  expect(lines.filter((line) => !isJson(line))).toEqual([]);
  expect(report.findings).toEqual([]);
  expect([report.status, report.records]).toEqual(['ok', lines.length]);
});

function isJson(line: string): boolean {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}

/** The values of one header in a raw list (any case), in order. */
function valuesOf(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

/** The header of a raw response head, every line of it. */
function headLines(head: string, name: string): string[] {
  const out: string[] = [];
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (line.slice(0, colon).toLowerCase() === name) out.push(line.slice(colon + 1).trim());
  }
  return out;
}

/**
 * The ways an upstream may read the headers it received: each repeated header as its first value,
 * its last, or its values joined by commas.
 */
function readingsOf(raw: readonly string[]): Record<string, string>[] {
  const all = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const list = all.get(name);
    if (list) list.push(raw[i + 1]!);
    else all.set(name, [raw[i + 1]!]);
  }
  // No policy of the folder reads aws:UserAgent or aws:Referer; the offline decision refuses a value
  // of either above `~` whether or not a policy reads it, where the gateway only when one does.
  all.delete('user-agent');
  all.delete('referer');
  const pick = (f: (values: string[]) => string): Record<string, string> => Object.fromEntries([...all].map(([n, v]) => [n, f(v)]));
  return [pick((v) => v[0]!), pick((v) => v.at(-1)!), pick((v) => v.join(', '))];
}

/** aws:SecureTransport as the upstream can tell it: every X-Forwarded-Proto entry it received says https. */
function secureOf(raw: readonly string[]): boolean {
  const entries = valuesOf(raw, 'x-forwarded-proto').flatMap((v) => v.split(','));
  return entries.length > 0 && entries.every((e) => e.trim().toLowerCase() === 'https');
}

/** What reached the upstream, decided again from the upstream's side for the caller the trail names. */
function assertAuthorised(seen: Received, record: TrailRecord, sent: GeneratedRequest, shown: string): void {
  const raw = seen.rawHeaders;
  const arn = (record['principal'] as { arn?: string } | undefined)?.arn;
  expect([shown, valuesOf(raw, 'x-iamgate-principal')]).toEqual([shown, [arn]]);
  expect([shown, valuesOf(raw, 'x-iamgate-request-id')]).toEqual([shown, [record['requestId']]]);
  expect([shown, seen.method]).toEqual([shown, sent.method]);
  // The host the upstream hears of (undici sends the upstream's own Host) is one line, one the
  // caller named: its one Host, or the X-Forwarded-Host of the trusted proxy it is.
  const named = [...sent.hosts, ...sent.headers.filter(([n]) => n.toLowerCase() === 'x-forwarded-host').map(([, v]) => v)].map((h) => h.trim());
  const hosts = valuesOf(raw, 'x-forwarded-host');
  expect([shown, hosts.length, named.includes(hosts[0] ?? '')]).toEqual([shown, 1, true]);
  // Nothing left for the upstream to normalise: the path forwarded is its own normal form.
  const q = seen.url.indexOf('?');
  const path = q < 0 ? seen.url : seen.url.slice(0, q);
  const again = normalizeTarget(seen.url);
  expect([shown, again.ok ? again.target.path : again.reason]).toEqual([shown, path]);
  const principal = resolvePrincipal(gw.world, { arn: arn ?? '', mfa: valuesOf(raw, 'x-iamgate-mfa')[0] === 'true' }, Date.now());
  expect([shown, principal?.arn]).toEqual([shown, arn]);
  const context = { 'aws:SourceIp': sourceAddress('127.0.0.1', raw, LOOPBACK, true), 'aws:SecureTransport': secureOf(raw) };
  const whatwg = new URL(seen.url, 'http://upstream.invalid');
  for (const target of new Set([seen.url, whatwg.pathname + whatwg.search])) {
    for (const headers of readingsOf(raw)) {
      const d = decideOffline(gw.world, principal!, { method: seen.method, path: target, headers }, context, Date.now());
      expect([shown, target, headers, d.decision, d.action, d.resource]).toEqual([shown, target, headers, 'Allow', record['action'], record['resource']]);
    }
  }
}

/** iamgate's own answer: JSON, never a 500, its `error` the table's name for the status, a code, its request id. */
function assertOwnAnswer(answer: RawResponse, id: string, head: boolean, shown: string): void {
  expect([shown, answer.status]).not.toEqual([shown, 500]);
  // The answer to HEAD has the headers of the JSON answer and no body.
  if (head) return;
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  const names = new Set<string>(Object.values(GATEWAY_ERRORS).filter((e) => e.status === answer.status).map((e) => e.error));
  expect([shown, names.has(String(body['error'])), typeof body['code'], body['requestId']]).toEqual([shown, true, 'string', id]);
  if (answer.status === 401) expect([shown, body['error']]).toEqual([shown, GATEWAY_ERRORS.unauthenticated.error]);
  if (answer.status === 403) expect([shown, body['error']]).toEqual([shown, GATEWAY_ERRORS.access_denied.error]);
}

/**
 * Sends generated requests on one connection (pipelined when more than one; the last asks to close
 * it) and checks every invariant on what followed. The k-th answer is the k-th request's; a refusal
 * may close the connection before the next is answered, and that one then leaves no record.
 */
async function attack(...sent: GeneratedRequest[]): Promise<void> {
  const bytes = Buffer.concat(sent.map((r, k) => bytesOf(r, gw.bearer, k === sent.length - 1)));
  const shown = JSON.stringify(bytes.toString('latin1'));
  const received = gw.upstream.received.length;
  const arrived = gw.upstream.arrivals();
  const ex = await exchange(gw.port, bytes, { timeoutMs: 5000 });
  // Every connection ends in bounded time (the last request asks to close it).
  expect([shown, ex.timedOut]).toEqual([shown, false]);
  const answers = responsesOf(ex.text).filter((a) => a.status >= 200);
  expect([shown, answers.length >= 1 && answers.length <= sent.length]).toEqual([shown, true]);
  const reached = gw.upstream.received.slice(received);
  expect([shown, gw.upstream.arrivals() - arrived]).toEqual([shown, reached.length]);
  const ids = answers.map((a) => headLines(a.head, 'x-iamgate-request-id'));
  expect([shown, ids.map((list) => list.length)]).toEqual([shown, answers.map(() => 1)]);
  // One record per answer, in order, and none for a request that got no answer.
  const records = await gw.fresh();
  expect([shown, records.map((r) => r['requestId'])]).toEqual([shown, ids.flat()]);
  let next = 0;
  answers.forEach((answer, k) => {
    statuses.push(answer.status);
    const record = records[k]!;
    const fromUpstream = headLines(answer.head, 'x-upstream').length > 0;
    expect([shown, k, record['decision']]).toEqual([shown, k, fromUpstream ? 'Allow' : 'Deny']);
    if (!fromUpstream) {
      assertOwnAnswer(answer, ids[k]![0]!, sent[k]!.method === 'HEAD', shown);
      return;
    }
    // Pipelined requests are forwarded each on its own upstream connection: found by request id.
    const seen = reached.find((x) => valuesOf(x.rawHeaders, 'x-iamgate-request-id')[0] === ids[k]![0]);
    next++;
    expect([shown, k, seen === undefined]).toEqual([shown, k, false]);
    assertAuthorised(seen!, record, sent[k]!, shown);
    forwarded++;
  });
  // Refused requests never reach the upstream: every request it received is an answered Allow.
  expect([shown, next]).toEqual([shown, reached.length]);
}

/** The status of each answer, in order. */
const statuses: number[] = [];

/** Requests that reached the upstream in this run: the property is not met by refusing everything. */
let forwarded = 0;

describe('every generated request', () => {
  it('reaches the upstream only as the policies allow its recorded caller, and leaves one record per answer', async () => {
    await fc.assert(fc.asyncProperty(generatedRequest, (r) => attack(r)), runsOf(Number(process.env['FC_RUNS'] ?? 300)));
    expect(forwarded).toBeGreaterThan(20);
  }, 240_000);

  it('pipelined behind another on one connection, is answered in order, one record per answer, and reaches the upstream only as allowed', async () => {
    // A HEAD answer has a length and no body: a raw reader could not tell where the next begins.
    const first = generatedRequest.filter((r) => r.method !== 'HEAD');
    await fc.assert(fc.asyncProperty(first, generatedRequest, (a, b) => attack(a, b)), runsOf(Number(process.env['FC_RUNS'] ?? 200)));
  }, 240_000);
});

/** A request the generator could give: alice's GET, with what the example changes. */
function example(change: Partial<GeneratedRequest>): GeneratedRequest {
  return { method: 'GET', target: '/orders/1', hosts: ['orders.example'], credentials: { kind: 'user', user: 'alice' }, headers: [], framing: { lines: [], body: '' }, ...change };
}

/** The status of the one answer to `r`, once `attack` has checked every invariant on it. */
async function statusOf(r: GeneratedRequest): Promise<number> {
  const before = statuses.length;
  await attack(r);
  expect(statuses.length).toBe(before + 1);
  return statuses.at(-1)!;
}

describe('requests the generation shrank to', () => {
  it('answers an HTTP/1.1 request without a Host with its own 400, a request id and one audit record, where node:http answered a bare 400 nobody recorded', async () => {
    expect(await statusOf(example({ hosts: [] }))).toBe(400);
    expect(await statusOf(example({ hosts: [], credentials: { kind: 'none' } }))).toBe(400);
  });

  it('answers HEAD on a path that goes through the app with the upstream\'s answer or the refusal it recorded, never a bare 200 of the adapter', async () => {
    // An escape, or a Host the data path does not take as it is, sends the request through hono.
    expect(await statusOf(example({ method: 'HEAD', target: '/orders/%31' }))).toBe(200);
    expect(await statusOf(example({ method: 'HEAD', target: '/orders', hosts: ['ORDERS.EXAMPLE'], framing: { lines: ['Transfer-Encoding: xchunked'], body: '' } }))).toBe(400);
    expect(await statusOf(example({ method: 'HEAD', target: '/orders/%31', credentials: { kind: 'none' } }))).toBe(401);
    expect(await statusOf(example({ method: 'HEAD', target: '/orders/secret%2D1' }))).toBe(403);
  });
});

describe('pipelined requests the generation shrank to', () => {
  it('decides, records and forwards nothing pipelined behind a final answer to Expect: 100-continue, which closes the connection', async () => {
    const before = statuses.length;
    await attack(example({ headers: [['Expect', '100-continue']] }), example({ target: '/orders/2' }));
    expect(statuses.slice(before)).toEqual([200]);
  });

  it('answers a CONNECT or a refused upgrade pipelined behind a request once that request is answered, each answer recorded once', async () => {
    const before = statuses.length;
    await attack(example({}), example({ method: 'CONNECT' }));
    await attack(example({ target: '/orders/secret-1' }), example({ method: 'CONNECT', credentials: { kind: 'none' } }));
    await attack(example({ target: '/orders/2' }), example({ target: '/ws', headers: [['Connection', 'Upgrade'], ['Upgrade', 'h2c']] }));
    expect(statuses.slice(before)).toEqual([200, 400, 403, 400, 200, 400]);
  });
});
