// What one client of the ext_authz port can make iamgate hold. Every check may be up to 24 MiB
// decoded, and a client may open many connections with many calls on each: iamgate bounds the
// calls per connection, the checks and bytes being decided at once (a check past them is denied
// at once, 503, with its record), and how long a connection may live unused, silent or at all.
import { createConnection, type Socket } from 'node:net';
import type { ServiceError } from '@grpc/grpc-js';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Authenticator } from '../../src/gateway/index.js';
import { body, checkOf, EXT_AUTHZ_DIRECTORY, requestIdOf } from '../extauthz/check.js';
import { FIXTURES, useTestGateway, type TestGateway } from '../support/gateway.js';
import { extAuthzClient, http2Session, rawCheckCall } from '../support/grpc.js';
import { field } from '../support/protobuf-wire.js';
import { until } from '../support/until.js';

const MIB = 1024 * 1024;

/** Authentication that waits while a test holds it, and counts the checks waiting. */
function holdingAuthentication(): { wrap: (inner: Authenticator) => Authenticator; hold(): () => void; waiting(): number; mostWaiting(): number } {
  let gate: Promise<void> = Promise.resolve();
  let waiting = 0;
  let most = 0;
  return {
    wrap: (inner) => ({
      ...inner,
      authenticate: async (facts) => {
        waiting++;
        most = Math.max(most, waiting);
        try {
          await gate;
        } finally {
          waiting--;
        }
        return inner.authenticate(facts);
      },
    }),
    hold() {
      let letGo = (): void => undefined;
      gate = new Promise((resolve) => (letGo = resolve));
      const release = (): void => {
        gate = Promise.resolve();
        letGo();
      };
      onTestFinished(release);
      return release;
    },
    waiting: () => waiting,
    mostWaiting: () => most,
  };
}

function gatewayWith(grpc: Record<string, unknown>, held: ReturnType<typeof holdingAuthentication>, extra: Record<string, unknown> = {}): TestGateway {
  return useTestGateway({
    config: { extAuthz: { grpc: { host: '127.0.0.1', port: 0, ...grpc } }, ...extra },
    files: { directory: EXT_AUTHZ_DIRECTORY, routes: FIXTURES.routes },
    wrapAuthenticator: held.wrap,
  });
}

/** The gauges of the checks being decided and their bytes. */
async function inFlight(gw: TestGateway): Promise<number[]> {
  const registry = gw.gateway.metrics.registry;
  const values = await Promise.all(['iamgate_ext_authz_checks_in_flight', 'iamgate_ext_authz_check_bytes_in_flight'].map((name) => registry.getSingleMetric(name)!.get()));
  return values.map((v) => v.values[0]?.value ?? -1);
}

/** A CheckRequest for GET /orders/12 without credentials, as protobuf bytes. */
const SMALL_CHECK = field(1, field(4, field(2, Buffer.concat([field(2, 'GET'), field(4, '/orders/12'), field(5, 'orders.example')]))));

describe('ext_authz checks past the in-flight budget', () => {
  const held = holdingAuthentication();
  const gw = gatewayWith({ maxChecksInFlight: 2, maxCheckBytesInFlight: MIB }, held);

  it('deny a check past maxChecksInFlight at once with 503 ext_authz_overloaded and UNAVAILABLE, and one audit record each', async () => {
    const client = extAuthzClient(gw.gateway.extAuthzAddress!);
    try {
      const authorization = await gw.bearer('alice');
      const letGo = held.hold();
      const decided = [client.check(checkOf({ headers: { authorization } })), client.check(checkOf({ headers: { authorization } }))];
      await until('two checks held', () => held.waiting() === 2, 10_000);
      const refused = await client.check(checkOf({ headers: { authorization } }));
      expect(held.waiting()).toBe(2);
      expect([refused.status?.code, refused.denied_response?.status?.code, body(refused)['code']]).toEqual([14, 503, 'ext_authz_overloaded']);
      expect(gw.audit.decisionsFor(requestIdOf(refused))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 503, reason: 'ext_authz_overloaded', method: 'GET', sourceIp: '10.1.2.3' })]);
      letGo();
      const answers = await Promise.all(decided);
      for (const answer of answers) {
        expect(answer.http_response).toBe('ok_response');
        expect(gw.audit.decisionsFor(requestIdOf(answer))).toHaveLength(1);
      }
      // Once they are answered, checks are decided again.
      expect((await client.check(checkOf({ headers: { authorization } }))).http_response).toBe('ok_response');
    } finally {
      client.close();
    }
  });

  it('deny a check that would take the decoded bytes past maxCheckBytesInFlight, and decide it when nothing else is in flight', async () => {
    const client = extAuthzClient(gw.gateway.extAuthzAddress!);
    try {
      const authorization = await gw.bearer('alice');
      const large = checkOf({ headers: { authorization, 'x-padding': 'a'.repeat(2 * MIB) } });
      const letGo = held.hold();
      const small = client.check(checkOf({ headers: { authorization } }));
      await until('one check held', () => held.waiting() === 1, 10_000);
      const refused = await client.check(large);
      expect([refused.status?.code, body(refused)['code']]).toEqual([14, 'ext_authz_overloaded']);
      expect(gw.audit.decisionsFor(requestIdOf(refused))).toHaveLength(1);
      letGo();
      expect((await small).http_response).toBe('ok_response');
      const alone = await client.check(large);
      expect([alone.denied_response?.status?.code, body(alone)['code']]).toEqual([431, 'headers_too_large']);
    } finally {
      client.close();
    }
  });

  it('count nothing for calls cancelled, past their deadline, reset or never finished: the budget is whole again afterwards', async () => {
    const authorization = await gw.bearer('alice');
    const client = extAuthzClient(gw.gateway.extAuthzAddress!);
    const session = await http2Session(gw.gateway.extAuthzAddress!);
    const decisions = (): number => gw.audit.events.filter((e) => e.kind === 'ext_authz').length;
    try {
      const before = decisions();
      let letGo = held.hold();
      const late = Array.from({ length: 10 }, () => client.check(checkOf({ headers: { authorization } }), { deadlineMs: 50 }).catch((err: ServiceError) => err.code));
      await Promise.all(late);
      letGo();
      // Calls that send a whole check but never end, closed (END_STREAM, then a reset): decided all
      // the same (grpc-js runs the handler), their answer reaching no one. Calls closed before all of
      // their check came: ended with no CheckRequest, so refused as such (ext_authz_no_check).
      const whole = Array.from({ length: 10 }, () => rawCheckCall(session, SMALL_CHECK, { end: false }));
      const partial = Array.from({ length: 10 }, () => rawCheckCall(session, SMALL_CHECK, { announced: 1000, end: false }));
      await new Promise((resolve) => session.ping(resolve));
      for (const stream of [...whole, ...partial]) stream.close();
      await expect.poll(decisions, { timeout: 10_000 }).toBe(before + late.length + whole.length + partial.length);
      expect(gw.audit.events.filter((e) => e.kind === 'ext_authz' && e.reason === 'ext_authz_no_check')).toHaveLength(partial.length);
      await expect.poll(() => inFlight(gw), { timeout: 10_000 }).toEqual([0, 0]);
      // Two checks held at once: both admitted only if the budget of two is whole.
      letGo = held.hold();
      const two = [client.check(checkOf({ headers: { authorization } })), client.check(checkOf({ headers: { authorization } }))];
      await until('two checks held', () => held.waiting() === 2, 10_000);
      letGo();
      expect((await Promise.all(two)).map((a) => [a.http_response, a.denied_response?.body])).toEqual([['ok_response', undefined], ['ok_response', undefined]]);
    } finally {
      session.destroy();
      client.close();
    }
  });
});

describe('calls on one ext_authz connection', () => {
  const held = holdingAuthentication();
  const gw = gatewayWith({ maxConcurrentStreams: 3 }, held);

  it('are bounded by maxConcurrentStreams, which the server announces; a gRPC client waits for a free stream', async () => {
    const session = await http2Session(gw.gateway.extAuthzAddress!);
    try {
      expect(session.remoteSettings.maxConcurrentStreams).toBe(3);
    } finally {
      session.destroy();
    }
    const client = extAuthzClient(gw.gateway.extAuthzAddress!, { ownConnection: true });
    try {
      const authorization = await gw.bearer('alice');
      const letGo = held.hold();
      const answers = Array.from({ length: 12 }, () => client.check(checkOf({ headers: { authorization } })));
      await until('three checks held', () => held.waiting() === 3, 10_000);
      letGo();
      const all = await Promise.all(answers);
      expect(all.map((a) => a.http_response)).toEqual(Array.from({ length: 12 }, () => 'ok_response'));
      expect(held.mostWaiting()).toBe(3);
    } finally {
      client.close();
    }
  });
});

describe('ext_authz connections with maxConnectionIdleMs', () => {
  const gw = gatewayWith({ maxConnectionIdleMs: 1000 }, holdingAuthentication());

  it('are closed, with a GOAWAY, once unused for that long', async () => {
    const session = await http2Session(gw.gateway.extAuthzAddress!);
    let goaway = false;
    session.once('goaway', () => (goaway = true));
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
    expect(goaway).toBe(true);
  });
});

describe('ext_authz connections with keepaliveTimeMs and keepaliveTimeoutMs', () => {
  const gw = gatewayWith({ keepaliveTimeMs: 1000, keepaliveTimeoutMs: 1000 }, holdingAuthentication());

  it('are closed when a ping goes unanswered', async () => {
    // An HTTP/2 client that sends its preface and empty settings, then nothing: not even a ping's ACK.
    const [host, port] = gw.gateway.extAuthzAddress!.split(':');
    const socket: Socket = createConnection({ host: host!, port: Number(port) });
    socket.on('error', () => undefined);
    socket.resume();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    await closed;
  });
});

describe('ext_authz connections with maxConnectionAgeMs', () => {
  const gw = gatewayWith({ maxConnectionAgeMs: 1500 }, holdingAuthentication(), { shutdown: { graceMs: 500 } });

  it('are ended after that age and shutdown.graceMs, even with a call that never finishes sending its check', async () => {
    const session = await http2Session(gw.gateway.extAuthzAddress!);
    const stream = rawCheckCall(session, SMALL_CHECK, { announced: 1000, end: false });
    await new Promise<void>((resolve) => stream.once('close', () => resolve()));
    session.destroy();
  });
});

describe('ext_authz connections past maxConnections', () => {
  const gw = gatewayWith({ maxConnections: 2 }, holdingAuthentication());

  /** The ext_authz listener's value of a connection metric. */
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    const values = (await gw.gateway.metrics.registry.getSingleMetric(name)!.get()).values;
    return values.find((v) => v.labels['listener'] === 'ext_authz' && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
  };

  it('are closed as they arrive, counted, and taken again once a connection ends', async () => {
    const held = [await http2Session(gw.gateway.extAuthzAddress!), await http2Session(gw.gateway.extAuthzAddress!)];
    try {
      expect([await metric('iamgate_connections_open'), await metric('iamgate_connections_limit')]).toEqual([2, 2]);
      const refusedBefore = await metric('iamgate_refused_connections_total', { reason: 'max_connections' });
      // A third client: closed by the server before any byte of HTTP/2 comes back.
      const [host, port] = gw.gateway.extAuthzAddress!.split(':');
      const third: Socket = createConnection({ host: host!, port: Number(port) });
      third.on('error', () => undefined);
      let received = 0;
      third.on('data', (chunk: Buffer) => (received += chunk.length));
      third.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      await new Promise<void>((resolve) => third.once('close', () => resolve()));
      expect(received).toBe(0);
      expect(await metric('iamgate_refused_connections_total', { reason: 'max_connections' })).toBe(refusedBefore + 1);
      // Once one of the two ends, a new connection is taken and its check answered.
      const client = extAuthzClient(gw.gateway.extAuthzAddress!, { ownConnection: true });
      held.pop()!.destroy();
      await expect.poll(() => metric('iamgate_connections_open')).toBe(1);
      try {
        const answer = await client.check(checkOf({ headers: { authorization: await gw.bearer('alice') } }));
        expect(answer.http_response).toBe('ok_response');
      } finally {
        client.close();
      }
    } finally {
      for (const session of held) session.destroy();
    }
  });
});
