// "Every answer leaves exactly one audit record", as a property over generated traffic: the gateway
// as `iamgate serve` assembles it (a signed, durable file trail), a real upstream, and raw sockets
// sending a random mix, in sequence and at once: allowed and denied requests, no token, a bad
// token, an unknown route, a header block over the limit or with too many lines, a malformed
// method, an Expect other than 100-continue, a body the caller abandons midway, an allowed upload
// whose chunked framing breaks midway (answered 400 under its own id), an upstream that
// resets, upgrades refused (h2c, a WebSocket without a token), STS calls (a malformed body
// included), forward-auth calls (an incomplete one included) and three requests pipelined on one
// connection. Every answer names its request id (header or JSON body), and the trail holds exactly
// one decision record for each; a request the caller abandoned has at most one, and no other
// decision record appears. At the end `iamgate audit verify` accepts the trail with the gateway's
// public key.
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Iamgate } from '../../src/app/index.js';
import { runCli } from '../../src/cli/cli.js';
import '../../src/cli/audit.js';
import { decisionsFor, readTrail, tokenFor, writeServedConfig, type ServedFiles, type TrailRecord } from '../audit/served.js';
import { exchange, responsesOf } from './support/raw.js';
import { serveConfigFile } from './support/served.js';

const KINDS = [
  'allowed', 'denied', 'no_token', 'bad_token', 'unknown_route', 'huge_header', 'too_many_headers', 'bad_method', 'other_expect', 'abandoned_body', 'broken_chunked_body', 'upstream_reset',
  'h2c_upgrade', 'websocket_no_token', 'sts', 'sts_bad_body', 'forward_auth', 'forward_auth_incomplete', 'pipelined',
] as const;
type Kind = (typeof KINDS)[number];

/** A real upstream: answers every request, but resets the connection for `/orders/reset`. */
const upstream = http.createServer((req, res) => {
  if (req.url === '/orders/reset') {
    req.socket.resetAndDestroy();
    return;
  }
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
});

let files: ServedFiles;
let served: Iamgate;
let port = 0;
let alice = '';
let abandoned = 0;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
  served = await serveConfigFile(files.config);
  port = Number(new URL(served.gateway.url).port);
  alice = await tokenFor(files.config, 'alice');
}, 30_000);

afterAll(async () => {
  await served?.stop(1000);
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  await files?.remove();
});

/** An answer: its status and the request id it names. */
interface Answer {
  readonly status: number;
  readonly requestId: string | undefined;
}

/** What one connection's requests came to: their answers, or the path of an abandoned one. */
type Sent = { readonly kind: Kind; readonly answered: true; readonly answers: readonly Answer[] } | { readonly kind: Kind; readonly answered: false; readonly path: string };

const requestLine = (method: string, target: string, headers: readonly string[], body = '', connection = 'close'): string =>
  `${method} ${target} HTTP/1.1\r\nHost: x\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: ${connection}\r\n${body === '' ? '' : `Content-Length: ${Buffer.byteLength(body)}\r\n`}\r\n${body}`;

/** The raw bytes a kind of request sends (every one closes its connection after its answer). */
function payloadOf(kind: Exclude<Kind, 'abandoned_body'>): string {
  const bearer = `Authorization: Bearer ${alice}`;
  switch (kind) {
    case 'allowed':
      return requestLine('GET', '/orders/1', [bearer]);
    case 'denied':
      return requestLine('DELETE', '/orders/1', [bearer]);
    case 'no_token':
      return requestLine('GET', '/orders/1', []);
    case 'bad_token':
      return requestLine('GET', '/orders/1', ['Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln']);
    case 'unknown_route':
      return requestLine('GET', '/nowhere/at/all', [bearer]);
    case 'huge_header':
      return requestLine('GET', '/orders/1', [bearer, `X-Filler: ${'f'.repeat(20 * 1024)}`]);
    case 'too_many_headers':
      return requestLine('GET', '/orders/1', [bearer, ...Array.from({ length: 250 }, (_, i) => `X-Line-${i}: ${i}`)]);
    case 'bad_method':
      return requestLine('G@T', '/orders/1', [bearer]);
    case 'other_expect':
      return requestLine('GET', '/orders/1', [bearer, 'Expect: something-else']);
    case 'broken_chunked_body':
      return requestLine('POST', '/upload', [bearer, 'Transfer-Encoding: chunked']) + '5\r\nhello\r\nnot a chunk size\r\n';
    case 'h2c_upgrade':
      return requestLine('GET', '/orders/1', [bearer, 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']);
    case 'websocket_no_token':
      return requestLine('GET', '/ws', ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']);
    case 'upstream_reset':
      return requestLine('GET', '/orders/reset', [bearer]);
    case 'sts':
      return requestLine('POST', '/.iamgate/sts/GetSessionToken', [bearer, 'Content-Type: application/json'], '{"TokenCode":"123456"}');
    case 'sts_bad_body':
      return requestLine('POST', '/.iamgate/sts/AssumeRole', [bearer, 'Content-Type: application/json'], '{"RoleArn":');
    case 'forward_auth':
      return requestLine('GET', '/.iamgate/authz', [bearer, 'X-Forwarded-Method: GET', 'X-Forwarded-Uri: /orders/7']);
    case 'forward_auth_incomplete':
      return requestLine('GET', '/.iamgate/authz', [bearer, 'X-Forwarded-Method: GET']);
    case 'pipelined':
      // Three requests in one write on a kept-alive connection, the last closing it.
      return requestLine('GET', '/orders/2', [bearer], '', 'keep-alive') + requestLine('GET', '/orders/3', [], '', 'keep-alive') + requestLine('DELETE', '/orders/2', [bearer]);
  }
}

/** The statuses each kind of request is answered with, answer by answer (an STS caller without a TOTP device is refused, or locked out after repeated codes). */
const EXPECTED: Record<Exclude<Kind, 'abandoned_body'>, readonly (readonly number[])[]> = {
  allowed: [[200]],
  denied: [[403]],
  no_token: [[401]],
  bad_token: [[401]],
  unknown_route: [[403]],
  huge_header: [[431]],
  too_many_headers: [[431]],
  bad_method: [[400]],
  other_expect: [[417]],
  broken_chunked_body: [[400]],
  h2c_upgrade: [[400]],
  websocket_no_token: [[401]],
  sts_bad_body: [[400]],
  forward_auth_incomplete: [[400]],
  upstream_reset: [[502]],
  sts: [[403, 429]],
  forward_auth: [[200]],
  pipelined: [[200], [401], [403]],
};

/** The request id an answer names: its `x-iamgate-request-id` header, else its JSON body's `requestId`. */
function requestIdOf(head: string, body: string): string | undefined {
  const header = /\r\nx-iamgate-request-id: *([^\r]+)/i.exec(head)?.[1];
  if (header !== undefined) return header;
  try {
    const id = (JSON.parse(body) as { requestId?: unknown }).requestId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Sends an allowed update's head and the first bytes of a declared 4096-byte body, then goes: the caller gives up without an answer. */
async function abandon(path: string): Promise<void> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: text/plain\r\nContent-Length: 4096\r\n\r\nfirst bytes of the body`);
  // Gone before the rest: as soon as the gateway has read the head (or at once, when it is slow).
  await new Promise((resolve) => setTimeout(resolve, 5));
  socket.destroy();
}

async function send(kind: Kind): Promise<Sent> {
  if (kind === 'abandoned_body') {
    const path = `/orders/abandoned-${++abandoned}`;
    await abandon(path);
    return { kind, answered: false, path };
  }
  const r = await exchange(port, payloadOf(kind), { timeoutMs: 5000 });
  const answers = responsesOf(r.text).map((a) => ({ status: a.status, requestId: requestIdOf(a.head, a.body) }));
  expect([kind, answers.map((a) => a.status)]).toEqual([kind, EXPECTED[kind].map((statuses) => expect.toSatisfy((status: number) => statuses.includes(status)))]);
  return { kind, answered: true, answers };
}

const NOT_DECISIONS = new Set(['outcome', 'audit.start', 'audit.digest', 'audit.gap', 'policy_reload']);
const decisionsIn = (trail: readonly TrailRecord[]): TrailRecord[] => trail.filter((r) => !NOT_DECISIONS.has(r.kind));

/** Every request id an answer named, and the path of every abandoned request, over all runs. */
const answeredIds = new Set<string>();
const abandonedPaths = new Set<string>();

/** The trail once every id in `ids` has a decision record in it (each is written before its answer; polled, never waited on a clock). */
async function trailHolding(ids: readonly string[]): Promise<TrailRecord[]> {
  for (let attempt = 0; ; attempt++) {
    const trail = await readTrail(files.trail);
    const decided = new Set(decisionsIn(trail).map((r) => r['requestId']));
    if (ids.every((id) => decided.has(id)) || attempt === 200) return trail;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the trail of a served gateway under a random mix of requests', () => {
  it('holds exactly one decision record for every answer, found by the request id the answer names', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 10 }), fc.boolean(), async (kinds, together) => {
        const sent = together ? await Promise.all(kinds.map(send)) : await kinds.reduce<Promise<Sent[]>>(async (done, kind) => [...(await done), await send(kind)], Promise.resolve([]));
        const answers = sent.flatMap((s) => (s.answered ? s.answers.map((a) => ({ kind: s.kind, ...a })) : []));
        // Every answer names its request id, and no two the same.
        expect(answers.filter((a) => a.requestId === undefined)).toEqual([]);
        const ids = answers.flatMap((a) => (a.requestId !== undefined ? [a.requestId] : []));
        expect(new Set(ids).size).toBe(ids.length);
        for (const id of ids) answeredIds.add(id);
        for (const s of sent) if (!s.answered) abandonedPaths.add(s.path);
        const trail = await trailHolding(ids);
        for (const a of answers) expect([a.kind, a.status, decisionsFor(trail, a.requestId ?? '').length]).toEqual([a.kind, a.status, 1]);
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it('holds no decision record but those, and at most one for each abandoned request, once the gateway has stopped; `iamgate audit verify` accepts it', async () => {
    expect(answeredIds.size).toBeGreaterThan(0);
    await served.stop(1000);
    const decisions = decisionsIn(await readTrail(files.trail));
    const unanswered = decisions.filter((r) => !answeredIds.has(String(r['requestId'])));
    expect(unanswered.filter((r) => !abandonedPaths.has(String(r['path'])))).toEqual([]);
    expect(new Set(unanswered.map((r) => r['path'])).size).toBe(unanswered.length);
    expect(decisions.length - unanswered.length).toBe(answeredIds.size);

    const out: string[] = [];
    const code = await runCli(['audit', 'verify', files.trail, '--public-key', files.publicKey], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
    expect([code, out.at(-1)]).toEqual([0, expect.stringMatching(/: intact$/)]);
    expect(out).toContainEqual(expect.stringMatching(/closed$/));
  });
});
