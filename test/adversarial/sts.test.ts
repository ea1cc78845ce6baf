// The STS endpoints of the gateway as `iamgate serve` assembles it (no Redis: the in-process state
// and the file of sealed secrets, the audit trail in a file), over real HTTP: a burst of concurrent
// TOTP guesses gets no more checks than the lockout allows one at a time, and every refused call
// leaves one audit record, also when it is refused before its operation runs.
import { generate } from 'otplib';
import { connect } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Iamgate } from '../../src/app/index.js';
import { readTrail, tokenFor, type ServedFiles, type TrailRecord } from '../audit/served.js';
import { rawRequest } from '../support/net.js';
import { exchange } from './support/raw.js';
import { startServedGateway, type ServedGateway } from './support/served.js';

/** `auth.mfa.maxFailures` by default. */
const MAX_FAILURES = 5;

let files: ServedFiles;
let served: Iamgate;
let carol: string;
let gateway: ServedGateway;

beforeAll(async () => {
  gateway = await startServedGateway();
  ({ files, served } = gateway);
  carol = await tokenFor(files.config, 'carol');
}, 30_000);

afterAll(async () => {
  await gateway?.close();
});

/** POSTs a body (JSON unless text) to an STS endpoint, as carol unless `authorization` is given; the status and the error code (or `ok`). */
async function sts(path: string, body: unknown, authorization: string | null = `Bearer ${carol}`): Promise<{ status: number; code: string; body: Record<string, unknown> }> {
  const res = await rawRequest(`${served.gateway.url}/.iamgate/sts/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const parsed = JSON.parse(res.body) as Record<string, unknown>;
  return { status: res.status, code: typeof parsed['code'] === 'string' ? parsed['code'] : 'ok', body: parsed };
}

const NOT_DECISIONS = new Set(['outcome', 'audit.digest']);

/**
 * The decision records written since the last call: a request through the pipeline, whose record is
 * written before its answer, marks the end (records reach the trail in order), and is left out.
 */
async function recordsSinceLastCall(): Promise<TrailRecord[]> {
  const marker = await rawRequest(`${served.gateway.url}/orders/1`);
  const id = marker.headers['x-iamgate-request-id'];
  const trail = (await readTrail(files.trail)).filter((r) => !NOT_DECISIONS.has(r.kind));
  const end = trail.findIndex((r) => r['requestId'] === id);
  const start = trail.slice(0, end).findLastIndex((r) => r['requestId'] !== undefined && r.kind === 'request' && r['path'] === '/orders/1');
  return trail.slice(start + 1, end);
}

describe('TOTP guesses sent all at once', () => {
  it('checks no more codes than mfa.maxFailures, however many guesses arrive together, and then refuses even the right code', async () => {
    const enrolled = await sts('mfa/enroll', {});
    const secret = enrolled.body['SecretBase32'] as string;
    expect((await sts('mfa/confirm', { TokenCode: await generate({ secret }) })).status).toBe(200);

    const right = await generate({ secret });
    // Codes that are wrong now and in the steps either side (the window a code is accepted in).
    const nearby = new Set(await Promise.all([-30, 0, 30].map((s) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + s }))));
    const wrong = Array.from({ length: 60 }, (_, i) => String(100_000 + i * 7_919)).filter((c) => !nearby.has(c));
    const answers = await Promise.all(wrong.map((TokenCode) => sts('GetSessionToken', { TokenCode })));

    const tally = new Map<string, number>();
    for (const a of answers) tally.set(`${a.status} ${a.code}`, (tally.get(`${a.status} ${a.code}`) ?? 0) + 1);
    expect(Object.fromEntries(tally)).toEqual({ '403 mfa_code_invalid': MAX_FAILURES - 1, '429 mfa_locked': wrong.length - (MAX_FAILURES - 1) });
    expect(await sts('GetSessionToken', { TokenCode: right })).toMatchObject({ status: 429, code: 'mfa_locked' });
  });
});

describe('STS calls refused before their operation runs', () => {
  const forged = () => `Bearer ${carol.slice(0, -4)}AAAA`;
  const cases: [string, string, () => string | null, unknown, number, string, string][] = [
    ['no token', 'GetSessionToken', () => null, { TokenCode: '123456' }, 401, 'token_missing', 'sts'],
    ['a token with a forged signature', 'AssumeRole', forged, { RoleArn: 'arn:aws:iam::111122223333:role/OrdersAdmin', RoleSessionName: 'carol' }, 401, 'token_signature_invalid', 'sts'],
    ['a body that is not JSON', 'AssumeRole', () => `Bearer ${carol}`, '{"RoleArn":', 400, 'invalid_request', 'sts'],
    ['an unknown parameter', 'AssumeRole', () => `Bearer ${carol}`, { RoleArn: 'arn:aws:iam::111122223333:role/OrdersAdmin', RoleSessionName: 'carol', ExternalId: 'x' }, 400, 'invalid_request', 'sts'],
    ['a malformed session name', 'AssumeRole', () => `Bearer ${carol}`, { RoleArn: 'arn:aws:iam::111122223333:role/OrdersAdmin', RoleSessionName: 'a b' }, 400, 'invalid_session_name', 'sts'],
    ['a body that is an array', 'AssumeRoleWithWebIdentity', () => null, '[]', 400, 'invalid_request', 'sts'],
    ['no TokenCode', 'mfa/confirm', () => `Bearer ${carol}`, {}, 400, 'invalid_request', 'mfa'],
    ['no PrincipalArn', 'RevokeSessions', () => `Bearer ${carol}`, { Before: 'yesterday' }, 400, 'invalid_request', 'revocation'],
    ['a Before earlier than 1970', 'RevokeSessions', () => `Bearer ${carol}`, { PrincipalArn: 'arn:aws:iam::111122223333:role/OrdersAdmin', Before: '1960-01-01T00:00:00Z' }, 400, 'invalid_request', 'revocation'],
    ['a body over 16 KiB', 'GetSessionToken', () => `Bearer ${carol}`, { TokenCode: '1'.repeat(17_000) }, 413, 'request_too_large', 'sts'],
  ];

  it.each(cases)('leaves one Deny record for %s at %s, without the token', async (_what, path, authorization, body, status, code, kind) => {
    await recordsSinceLastCall();
    expect(await sts(path, body, authorization())).toMatchObject({ status, code });
    const records = await recordsSinceLastCall();
    expect(records).toEqual([expect.objectContaining({ kind, decision: 'Deny', reason: code })]);
    expect(JSON.stringify(records)).not.toContain(carol.split('.')[2]);
  });
});

describe('a request pipelined behind an STS refusal that closes the connection', () => {
  it('is never decided or recorded, only counted as pipelined_after_close', async () => {
    const unserved = async (): Promise<number> => (await served.operations.metrics.requests.get()).values.find((v) => v.labels.outcome === 'pipelined_after_close')?.value ?? 0;
    const path = '/orders/behind-an-sts-refusal';
    const recordedFor = async (): Promise<TrailRecord[]> => (await readTrail(files.trail)).filter((r) => r['path'] === path);
    const dropped = await unserved();
    // Refused without a token, its body unread: the STS closes the connection after its answer.
    const refused = 'POST /.iamgate/sts/GetSessionToken HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';
    const behind = `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${carol}\r\n\r\n`;
    const r = await exchange(Number(new URL(served.gateway.url).port), refused + behind, { timeoutMs: 5000 });
    expect([r.statuses, r.closedByServer]).toEqual([[401], true]);
    // Dropped, and counted, before the connection closed: counted, it was never decided, so no
    // record of it can come late.
    expect(await unserved()).toBe(dropped + 1);
    expect(await recordedFor()).toEqual([]);
  });

  // The STS reads the body asynchronously: the request behind it arrives with body bytes the STS
  // reads, or after its answer, never with its headers. Whatever the order, the closing answer is
  // the only one, and the request behind it (one alice may make) reaches nothing.
  const big = JSON.stringify({ TokenCode: '1'.repeat(17_000) });
  const small = JSON.stringify({ TokenCode: '123456' });
  const head = (authorization: string, length: number): string =>
    `POST /.iamgate/sts/GetSessionToken HTTP/1.1\r\nHost: x\r\n${authorization}Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  const asyncCases: [string, () => string, string, number][] = [
    ['a body over 16 KiB, refused once the STS has read 16 KiB of it (413)', () => head(`Authorization: Bearer ${carol}\r\n`, big.length) + big.slice(0, 100), big.slice(100), 413],
    ['no token, its body arriving while the STS authenticates or after its refusal (401)', () => head('', small.length), small, 401],
  ];
  it.each(asyncCases)('is never forwarded, decided or recorded behind %s', async (what, first, rest, status) => {
    const alice = await tokenFor(files.config, 'alice');
    const path = `/orders/behind-${status}`;
    const recordedFor = async (): Promise<TrailRecord[]> => (await readTrail(files.trail)).filter((r) => r['path'] === path);
    const arrivals = gateway.upstream.arrivals();
    const behind = `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\n\r\n`;
    const r = await exchange(Number(new URL(served.gateway.url).port), first(), {
      timeoutMs: 5000,
      drive: async (socket) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (!socket.destroyed) socket.write(rest + behind);
      },
    });
    expect([what, r.statuses, r.closedByServer]).toEqual([what, [status], true]);
    // Once the connection has closed, every request it carried has ended.
    expect(served.gateway.inFlight()).toBe(0);
    expect(gateway.upstream.arrivals()).toBe(arrivals);
    expect(await recordedFor()).toEqual([]);
    // The same request alone is allowed and forwarded: behind the refusal, only the refusal kept it out.
    const alone = await exchange(Number(new URL(served.gateway.url).port), behind.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'), { timeoutMs: 5000 });
    expect(alone.statuses).toEqual([200]);
    expect(gateway.upstream.arrivals()).toBe(arrivals + 1);
  });
});

describe('an STS call whose caller goes away while sending its body', () => {
  it('leaves one Deny record with reason client_closed', async () => {
    await recordsSinceLastCall();
    const socket = connect(Number(new URL(served.gateway.url).port), '127.0.0.1');
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    socket.end(`POST /.iamgate/sts/AssumeRole HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${carol}\r\nContent-Length: 100\r\n\r\n{"RoleArn":`);
    socket.destroy();
    await closed;
    await vi.waitFor(async () => expect(await recordsSinceLastCall()).toEqual([expect.objectContaining({ kind: 'sts', action: 'sts:AssumeRole', decision: 'Deny', reason: 'client_closed' })]), { timeout: 10_000, interval: 100 });
  });
});

/**
 * Opens a connection, sends `head` and then chunks of a body that never ends until the gateway
 * closes the connection; what the gateway answered and the body bytes it was sent.
 */
async function endlessBody(head: string): Promise<{ answer: string; sent: number }> {
  const socket = connect(Number(new URL(served.gateway.url).port), '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  let sent = 0;
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  // The gateway may close while chunks are in flight: a write then fails with EPIPE or ECONNRESET.
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(head);
  const chunk = `400\r\n${'{'.repeat(1024)}\r\n`;
  const pump = (): void => {
    while (!socket.destroyed && socket.write(chunk)) sent += 1024;
    if (!socket.destroyed) socket.once('drain', pump);
  };
  pump();
  await closed;
  return { answer, sent };
}

describe('an STS call with a body that never ends', () => {
  it('is refused as unauthenticated without its body being read, and its connection closed', async () => {
    await recordsSinceLastCall();
    const { answer } = await endlessBody('POST /.iamgate/sts/GetSessionToken HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('"code":"token_missing"');
    expect(await recordsSinceLastCall()).toEqual([expect.objectContaining({ kind: 'sts', action: 'sts:GetSessionToken', decision: 'Deny', reason: 'token_missing' })]);
  });

  it('is refused as too large after at most the limit for an authenticated caller, and its connection closed', async () => {
    await recordsSinceLastCall();
    const { answer } = await endlessBody(`POST /.iamgate/sts/GetSessionToken HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${carol}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(await recordsSinceLastCall()).toEqual([expect.objectContaining({ kind: 'sts', action: 'sts:GetSessionToken', decision: 'Deny', reason: 'request_too_large' })]);
  });

  it('is refused unread for an unknown action, and its connection closed', async () => {
    const { answer } = await endlessBody('POST /.iamgate/sts/NoSuchAction HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(answer.toLowerCase()).toContain('connection: close');
  });
});
