// WebSocket tunnels that do not outlive their authorisation: a real WebSocket client through the
// real gateway to a real echo upstream. A tunnel is closed (close frame 1008 with the reason, one
// `tunnel_close` audit record, the upstream's socket closed too) when its session is revoked (on
// this replica or another sharing a real redis-server), when its token expires, when a reload
// would deny the request that opened it, and when it reaches websocket.maxLifetimeMs; shutdown
// closes it with 1001. A reload that still allows leaves it open and passing bytes.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { decodeJwt } from 'jose';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/gateway/index.js';
import { startServedGateway, useServedPair, type ReplicaOptions } from '../cache/served.js';
import { FIXTURES, startTestGateway, type RecordingAudit, type TestGateway } from '../support/gateway.js';
import { startOwnedRedis } from '../support/redis.js';
import { createTestKeys, TEST_ISSUER } from '../support/tokens.js';
import { startTestUpstream } from '../support/upstream.js';
import { openTunnel, type TestTunnel } from '../support/websocket.js';
import { exchange } from './support/raw.js';

const ACCOUNT = '111122223333';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const STREAM = { Sid: 'Stream', Effect: 'Allow', Action: 'orders:Stream', Resource: `arn:aws:orders:us-east-1:${ACCOUNT}:ws` };
const READ = { Sid: 'Read', Effect: 'Allow', Action: 'orders:GetOrder', Resource: `arn:aws:orders:us-east-1:${ACCOUNT}:order/*` };
const NO_STREAM = { Sid: 'NoStream', Effect: 'Deny', Action: 'orders:Stream', Resource: '*' };

interface Folder {
  readonly directory: string;
  readonly routes: string;
  /** Replaces the statements of the policy alice and erin have. */
  setStream(statements: readonly object[]): Promise<void>;
}

/** A policy folder of the test's own: alice and erin share the `Stream` policy; security may revoke sessions. */
async function policyFolder(dir: string): Promise<Folder> {
  await mkdir(join(dir, 'policies'), { recursive: true });
  const stream = join(dir, 'policies', 'stream.json');
  const setStream = (statements: readonly object[]): Promise<void> => writeFile(stream, JSON.stringify({ Version: '2012-10-17', Statement: statements }));
  await setStream([STREAM]);
  await writeFile(
    join(dir, 'policies', 'revoker.json'),
    JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'iamgate:RevokeSessions', Resource: `arn:aws:iam::${ACCOUNT}:*` }] }),
  );
  const directory = join(dir, 'directory.yaml');
  await writeFile(
    directory,
    [
      'version: 1',
      `account: "${ACCOUNT}"`,
      'partition: aws',
      'policies:',
      '  Stream: { file: policies/stream.json }',
      '  Revoker: { file: policies/revoker.json }',
      'users:',
      '  alice: { policies: [Stream] }',
      '  erin: { policies: [Stream] }',
      '  security: { policies: [Revoker] }',
      '',
    ].join('\n'),
  );
  const routes = join(dir, 'routes.yaml');
  await copyFile(FIXTURES.routes, routes);
  return { directory, routes, setStream };
}

/** Opens a tunnel to /ws and returns it with the request id of the decision that allowed it. */
async function openRecorded(url: string, authorization: string, audit: RecordingAudit): Promise<{ tunnel: TestTunnel; requestId: string }> {
  const from = audit.events.length;
  const tunnel = await openTunnel(`${url}/ws`, authorization);
  const opened = audit.events.slice(from).filter((e) => e.kind === 'request' && e.path === '/ws' && e.decision === 'Allow');
  expect(opened).toHaveLength(1);
  return { tunnel, requestId: opened[0]!.requestId! };
}

function closesOf(audit: RecordingAudit, requestId: string): AuditEventInput[] {
  return audit.events.filter((e) => e.kind === 'tunnel_close' && e.requestId === requestId);
}

describe('an open tunnel and policy reloads', () => {
  let dir = '';
  let folder: Folder;
  let gw: TestGateway;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-tunnels-'));
    folder = await policyFolder(dir);
    // Reloads only when a test asks: a file watch would reload on the test's own writes first, at a
    // moment the machine's load decides, and close the tunnel under another generation.
    gw = await startTestGateway({ files: { directory: folder.directory, routes: folder.routes }, config: { websocket: { maxLifetimeMs: 0 }, policies: { watch: false } } });
  });

  afterAll(async () => {
    await gw?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('a reload that still allows the tunnel keeps it open and passing bytes', async () => {
    const { tunnel, requestId } = await openRecorded(gw.url, await gw.bearer('alice'), gw.audit);
    expect(await tunnel.echo('before')).toBe('echo:before');
    await folder.setStream([STREAM, READ]);
    const report = await gw.gateway.reload();
    expect(report).toMatchObject({ ok: true, generation: 2 });
    expect(await tunnel.echo('after')).toBe('echo:after');
    expect(tunnel.isOpen()).toBe(true);
    expect(closesOf(gw.audit, requestId)).toEqual([]);
    expect(gw.gateway.tunnels.size()).toBe(1);
    tunnel.close();
    await tunnel.closed;
  });

  it('a reload that denies the request that opened the tunnel closes it with 1008 policy_denied and one record', async () => {
    const { tunnel, requestId } = await openRecorded(gw.url, await gw.bearer('alice'), gw.audit);
    expect(await tunnel.echo('allowed')).toBe('echo:allowed');
    await folder.setStream([STREAM, NO_STREAM]);
    const report = await gw.gateway.reload();
    expect(report.ok).toBe(true);
    const closed = await tunnel.closed;
    expect(closed).toMatchObject({ code: 1008, reason: 'policy_denied' });
    const records = closesOf(gw.audit, requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      kind: 'tunnel_close',
      reason: 'policy_denied',
      principal: { arn: ALICE },
      authn: { issuer: TEST_ISSUER },
      action: 'orders:Stream',
      path: '/ws',
      policyGeneration: (report as { generation: number }).generation,
      statements: [{ policy: 'Stream', sid: 'NoStream' }],
    });
    expect(gw.gateway.tunnels.size()).toBe(0);
    await expect.poll(() => gw.upstream.openTunnels()).toBe(0);
    await expect.poll(() => gw.gateway.inFlight()).toBe(0);
    // Denied at the door as well, from now on.
    await expect(openTunnel(`${gw.url}/ws`, await gw.bearer('alice'))).rejects.toThrow();
    await folder.setStream([STREAM]);
    expect((await gw.gateway.reload()).ok).toBe(true);
  });

  it('a token whose exp passes closes its tunnel with 1008 token_expired, not before exp, and one record', async () => {
    const token = await gw.keys.token('alice', { ttlSeconds: 3 });
    const expiresAt = decodeJwt(token).exp! * 1000;
    const { tunnel, requestId } = await openRecorded(gw.url, `Bearer ${token}`, gw.audit);
    expect(await tunnel.echo('in time')).toBe('echo:in time');
    const closed = await tunnel.closed;
    expect(closed).toMatchObject({ code: 1008, reason: 'token_expired' });
    expect(closed.at).toBeGreaterThanOrEqual(expiresAt);
    expect(closesOf(gw.audit, requestId)).toEqual([expect.objectContaining({ reason: 'token_expired', principal: expect.objectContaining({ arn: ALICE }) })]);
    await expect.poll(() => gw.upstream.openTunnels()).toBe(0);
  });

  it('closing one tunnel leaves the others open', async () => {
    const first = await openRecorded(gw.url, await gw.bearer('alice'), gw.audit);
    const short = await openRecorded(gw.url, `Bearer ${await gw.keys.token('erin', { ttlSeconds: 3 })}`, gw.audit);
    expect((await short.tunnel.closed).reason).toBe('token_expired');
    expect(await first.tunnel.echo('still here')).toBe('echo:still here');
    expect(closesOf(gw.audit, first.requestId)).toEqual([]);
    first.tunnel.close();
    await first.tunnel.closed;
  });
});

describe('websocket.maxLifetimeMs', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ config: { websocket: { maxLifetimeMs: 600 } } });
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('closes a tunnel that reaches the maximum lifetime with 1008 max_lifetime and one record', async () => {
    const started = Date.now();
    const { tunnel, requestId } = await openRecorded(gw.url, await gw.bearer('alice'), gw.audit);
    expect(await tunnel.echo('young')).toBe('echo:young');
    const closed = await tunnel.closed;
    expect(closed).toMatchObject({ code: 1008, reason: 'max_lifetime' });
    expect(closed.at - started).toBeGreaterThanOrEqual(600);
    expect(closesOf(gw.audit, requestId)).toEqual([expect.objectContaining({ kind: 'tunnel_close', reason: 'max_lifetime' })]);
    await expect.poll(() => gw.upstream.openTunnels()).toBe(0);
  });
});

/** The header of a 100-byte binary frame and its first 10 bytes. */
const PARTIAL_FRAME = Buffer.concat([Buffer.from([0x82, 100]), Buffer.alloc(10, 7)]);

interface ScriptedUpstream {
  readonly url: string;
  /** Upgraded connections still open on the upstream's side. */
  open(): number;
  close(): Promise<void>;
}

/** A WebSocket upstream of the test's own: `onHandshake` gets each upgraded socket and the 101 answer to write when it chooses. */
async function scriptedUpstream(onHandshake: (socket: Duplex, answer: string) => void): Promise<ScriptedUpstream> {
  const sockets = new Set<Duplex>();
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end());
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    onHandshake(socket, `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An upstream that accepts the handshake, then sends the start of a 100-byte frame and nothing more. */
function midFrameUpstream(): Promise<ScriptedUpstream> {
  return scriptedUpstream((socket, answer) => {
    socket.write(answer);
    socket.write(PARTIAL_FRAME);
  });
}

describe('a tunnel closed while the upstream is in the middle of a frame', () => {
  it('is cut without a close frame (which would corrupt the frame under way), with one record', async () => {
    const upstream = await midFrameUpstream();
    const gw = await startTestGateway({ upstreamUrl: upstream.url, config: { websocket: { maxLifetimeMs: 300 } } });
    try {
      const from = gw.audit.events.length;
      const handshake = `GET /ws HTTP/1.1\r\nHost: x\r\nAuthorization: ${await gw.bearer('alice')}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
      const r = await exchange(Number(new URL(gw.url).port), handshake, { timeoutMs: 5000 });
      expect(r.closedByServer).toBe(true);
      expect(r.statuses).toEqual([101]);
      // After the 101: exactly the upstream's partial frame, nothing of iamgate's appended to it.
      const after = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
      expect(Buffer.from(after, 'latin1')).toEqual(PARTIAL_FRAME);
      const requestId = gw.audit.events.slice(from).find((e) => e.kind === 'request' && e.decision === 'Allow')?.requestId;
      expect(requestId).toBeDefined();
      expect(closesOf(gw.audit, requestId!)).toEqual([expect.objectContaining({ reason: 'max_lifetime' })]);
      await expect.poll(() => upstream.open()).toBe(0);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

/** An upstream that holds every WebSocket handshake until released, then accepts it. */
async function heldUpstream(): Promise<ScriptedUpstream & { arrival: Promise<void>; release: () => void }> {
  let arrived = (): void => undefined;
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const upstream = await scriptedUpstream((socket, answer) => {
    arrived();
    void released.then(() => socket.write(answer));
  });
  return { ...upstream, arrival, release: () => release() };
}

describe('a tunnel whose upstream handshake was under way when its authorisation ended', () => {
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-tunnels-held-'));
  });

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('is closed with policy_denied as it opens when a denying reload came in between', async () => {
    const upstream = await heldUpstream();
    const folder = await policyFolder(join(dir, 'reload'));
    const gw = await startTestGateway({ upstreamUrl: upstream.url, files: { directory: folder.directory, routes: folder.routes }, config: { websocket: { maxLifetimeMs: 0 } } });
    try {
      const opening = openTunnel(`${gw.url}/ws`, await gw.bearer('alice'));
      await upstream.arrival;
      await folder.setStream([STREAM, NO_STREAM]);
      expect((await gw.gateway.reload()).ok).toBe(true);
      upstream.release();
      const tunnel = await opening;
      expect(await tunnel.closed).toMatchObject({ code: 1008, reason: 'policy_denied' });
      expect(gw.audit.events.filter((e) => e.kind === 'tunnel_close')).toEqual([expect.objectContaining({ reason: 'policy_denied', policyGeneration: 2 })]);
    } finally {
      await gw.close();
      await upstream.close();
    }
  });

  it('is closed with session_revoked as it opens when the session was revoked in between', async () => {
    const upstream = await heldUpstream();
    const keys = await createTestKeys();
    await policyFolder(join(dir, 'revoke', 'policies'));
    const served = await startServedGateway({ policies: join(dir, 'revoke', 'policies'), work: join(dir, 'revoke', 'work'), keys, upstreamUrl: upstream.url, config: { websocket: { maxLifetimeMs: 0 } } });
    try {
      const opening = openTunnel(`${served.url}/ws`, `Bearer ${await keys.token('alice')}`);
      await upstream.arrival;
      await served.iamgate.auth.revocations.revoke(ALICE, Date.now());
      upstream.release();
      const tunnel = await opening;
      expect(await tunnel.closed).toMatchObject({ code: 1008, reason: 'session_revoked' });
      expect(served.audit.events.filter((e) => e.kind === 'tunnel_close')).toEqual([expect.objectContaining({ reason: 'session_revoked' })]);
    } finally {
      await served.stop();
      await upstream.close();
    }
  });
  it('is closed with 1013 revocation_unavailable as it opens when the revocation list went stale in between, as a request is refused', async () => {
    const upstream = await heldUpstream();
    const redis = await startOwnedRedis();
    const keys = await createTestKeys();
    let ahead = 0;
    await policyFolder(join(dir, 'stale', 'policies'));
    const served = await startServedGateway({
      policies: join(dir, 'stale', 'policies'),
      work: join(dir, 'stale', 'work'),
      keys,
      upstreamUrl: upstream.url,
      redisUrl: redis.url,
      now: () => Date.now() + ahead,
      config: { websocket: { maxLifetimeMs: 0 } },
    });
    try {
      const alice = `Bearer ${await keys.token('alice')}`;
      const opening = openTunnel(`${served.url}/ws`, alice);
      await upstream.arrival;
      // The shared store gone for longer than auth.revocation.maxStaleSeconds (60 s by default).
      await redis.stop();
      ahead = 61_000;
      expect(served.iamgate.auth.revocations.checkPrincipal({ arn: ALICE, issuedAt: Date.now() })).toBe('unavailable');
      upstream.release();
      const tunnel = await opening;
      expect(await tunnel.closed).toMatchObject({ code: 1013, reason: 'revocation_unavailable' });
      expect(served.audit.events.filter((e) => e.kind === 'tunnel_close')).toEqual([expect.objectContaining({ reason: 'revocation_unavailable', principal: expect.objectContaining({ arn: ALICE }) })]);
      // The same reason an ordinary request is refused with now.
      const res = await request(`${served.url}/orders/1`, { headers: { authorization: alice } });
      expect(res.statusCode).toBe(503);
      expect(await res.body.json()).toMatchObject({ code: 'revocation_unavailable' });
    } finally {
      await served.stop();
      await upstream.close();
      await redis.close();
    }
  });
});

describe('a reload while the revocation list is too stale to trust', () => {
  it('closes an open tunnel with 1013 revocation_unavailable, the reason its re-decision refused it for, and one record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iamgate-tunnels-stale-'));
    const redis = await startOwnedRedis();
    const upstream = await startTestUpstream();
    const keys = await createTestKeys();
    let ahead = 0;
    const folder = await policyFolder(join(dir, 'policies'));
    const served = await startServedGateway({
      policies: join(dir, 'policies'),
      work: join(dir, 'work'),
      keys,
      upstreamUrl: upstream.url,
      redisUrl: redis.url,
      now: () => Date.now() + ahead,
      config: { websocket: { maxLifetimeMs: 0 }, policies: { watch: false } },
    });
    try {
      const { tunnel, requestId } = await openRecorded(served.url, `Bearer ${await keys.token('alice')}`, served.audit);
      expect(await tunnel.echo('before')).toBe('echo:before');
      await redis.stop();
      ahead = 61_000;
      // A new generation that still allows the tunnel: only the revocation state refuses it now.
      await folder.setStream([STREAM, READ]);
      expect((await served.iamgate.gateway.reload()).ok).toBe(true);
      expect(await tunnel.closed).toMatchObject({ code: 1013, reason: 'revocation_unavailable' });
      expect(closesOf(served.audit, requestId)).toEqual([expect.objectContaining({ reason: 'revocation_unavailable', principal: expect.objectContaining({ arn: ALICE }) })]);
    } finally {
      await served.stop();
      await upstream.close();
      await redis.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('shutdown with a tunnel open', () => {
  it('closes the tunnel with 1001 and one record, without waiting for the grace period', async () => {
    const gw = await startTestGateway({ config: { websocket: { maxLifetimeMs: 0 } } });
    try {
      const { tunnel, requestId } = await openRecorded(gw.url, await gw.bearer('alice'), gw.audit);
      expect(await tunnel.echo('last')).toBe('echo:last');
      // A grace far longer than this test's timeout: only closing the tunnel lets shutdown finish.
      await gw.gateway.close(60_000);
      expect(await tunnel.closed).toMatchObject({ code: 1001, reason: 'shutdown' });
      expect(closesOf(gw.audit, requestId)).toEqual([expect.objectContaining({ reason: 'shutdown' })]);
    } finally {
      await gw.close();
    }
  });
});

describe('session revocation with two replicas sharing a real redis-server', () => {
  const replica: ReplicaOptions = { config: { websocket: { maxLifetimeMs: 0 } }, auth: { sts: { enabled: true } } };
  const pair = useServedPair({
    prefix: 'iamgate-tunnels-revoke-',
    writePolicies: async (folder) => {
      await policyFolder(folder);
    },
    a: replica,
    b: replica,
  });

  it('RevokeSessions on one replica closes the session’s tunnels on both with 1008 session_revoked, one record each, and no other tunnel', async () => {
    const { a, b, keys } = pair;
    const alice = `Bearer ${await keys.token('alice')}`;
    const onA = await openRecorded(a.url, alice, a.audit);
    const onB = await openRecorded(b.url, alice, b.audit);
    const other = await openRecorded(b.url, `Bearer ${await keys.token('erin')}`, b.audit);
    expect(await onA.tunnel.echo('a')).toBe('echo:a');
    expect(await onB.tunnel.echo('b')).toBe('echo:b');

    const res = await request(`${a.url}/.iamgate/sts/RevokeSessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await keys.token('security')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ PrincipalArn: ALICE }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();

    expect(await onA.tunnel.closed).toMatchObject({ code: 1008, reason: 'session_revoked' });
    expect(await onB.tunnel.closed).toMatchObject({ code: 1008, reason: 'session_revoked' });
    expect(closesOf(a.audit, onA.requestId)).toEqual([expect.objectContaining({ reason: 'session_revoked', principal: expect.objectContaining({ arn: ALICE }) })]);
    expect(closesOf(b.audit, onB.requestId)).toEqual([expect.objectContaining({ reason: 'session_revoked', principal: expect.objectContaining({ arn: ALICE }) })]);
    expect(await other.tunnel.echo('untouched')).toBe('echo:untouched');
    expect(closesOf(b.audit, other.requestId)).toEqual([]);
    other.tunnel.close();
    await other.tunnel.closed;
  });
});
