import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, useTestGateway } from '../support/gateway.js';
import { extAuthzClient, headerOf, type CheckAnswer, type ExtAuthzClient } from '../support/grpc.js';
import { body, checkOf, requestIdOf } from './check.js';

const DIRECTORY = fileURLToPath(new URL('./fixtures/directory.yaml', import.meta.url));
const arnOf = (user: string): string => `arn:aws:iam::111122223333:user/${user}`;

/** A caller and what iamgate must answer it: its identity when allowed, the HTTP status otherwise. */
interface Caller {
  readonly name: string;
  readonly authorization?: () => Promise<string>;
  readonly method: string;
  readonly expect: { readonly grpc: number; readonly status?: number; readonly principal?: string; readonly reason: string };
}

/** A TCP relay to the gRPC port that counts the connections clients open through it. */
async function countingRelay(target: string): Promise<{ address: string; connections: () => number; close: () => Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((inbound) => {
    accepted++;
    const outbound = createConnection({ host, port });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: relayPort } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${relayPort}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('concurrent ext_authz checks', () => {
  const gw = useTestGateway({ config: { extAuthz: { grpc: { host: '127.0.0.1', port: 0 } } }, files: { directory: DIRECTORY, routes: FIXTURES.routes } });
  let relay: Awaited<ReturnType<typeof countingRelay>>;
  beforeAll(async () => {
    relay = await countingRelay(gw.gateway.extAuthzAddress!);
  });
  afterAll(() => relay.close());

  const callers = (): readonly Caller[] => [
    { name: 'alice', authorization: () => gw.bearer('alice'), method: 'GET', expect: { grpc: 0, principal: arnOf('alice'), reason: 'allowed' } },
    { name: 'bob', authorization: () => gw.bearer('bob'), method: 'GET', expect: { grpc: 0, principal: arnOf('bob'), reason: 'allowed' } },
    { name: 'carol+mfa', authorization: () => gw.bearer('carol', { mfa: true }), method: 'DELETE', expect: { grpc: 0, principal: arnOf('carol'), reason: 'allowed' } },
    { name: 'alice-delete', authorization: () => gw.bearer('alice'), method: 'DELETE', expect: { grpc: 7, status: 403, principal: arnOf('alice'), reason: 'implicit_deny' } },
    { name: 'carol-no-mfa', authorization: () => gw.bearer('carol'), method: 'DELETE', expect: { grpc: 7, status: 403, principal: arnOf('carol'), reason: 'mfa_required' } },
    { name: 'anonymous', method: 'GET', expect: { grpc: 16, status: 401, reason: 'token_missing' } },
    { name: 'forged', authorization: async () => 'Bearer not-a-token', method: 'GET', expect: { grpc: 16, status: 401, reason: 'token_signature_invalid' } },
  ];

  /** Sends `rounds` checks per caller at once, spread over the clients, and checks each answer against its own request. */
  async function checkConcurrently(clients: readonly ExtAuthzClient[], rounds: number): Promise<void> {
    const who = callers();
    const credentials = await Promise.all(who.map((c) => c.authorization?.()));
    const asks = Array.from({ length: rounds * who.length }, (_, i) => ({ n: i, caller: who[i % who.length]!, authorization: credentials[i % who.length] }));
    const before = gw.audit.events.filter((e) => e.kind === 'ext_authz').length;
    const answers: CheckAnswer[] = await Promise.all(
      asks.map((a) =>
        clients[a.n % clients.length]!.check(
          checkOf({ method: a.caller.method, path: `/orders/c${a.n}`, headers: { 'x-ask': String(a.n), ...(a.authorization ? { authorization: a.authorization } : {}) } }),
        ),
      ),
    );
    expect(gw.audit.events.filter((e) => e.kind === 'ext_authz').length - before).toBe(asks.length);
    expect(new Set(answers.map(requestIdOf)).size).toBe(asks.length);
    answers.forEach((answer, i) => {
      const { caller, n } = asks[i]!;
      const want = caller.expect;
      expect(answer.status?.code, `${caller.name} #${n}`).toBe(want.grpc);
      if (want.grpc === 0) {
        expect(headerOf(answer.ok_response, 'x-iamgate-principal'), `${caller.name} #${n}`).toBe(want.principal);
      } else {
        expect(answer.denied_response?.status?.code, `${caller.name} #${n}`).toBe(want.status);
        expect(body(answer)['requestId']).toBe(requestIdOf(answer));
      }
      const records = gw.audit.decisionsFor(requestIdOf(answer));
      expect(records, `${caller.name} #${n}`).toEqual([
        expect.objectContaining({ kind: 'ext_authz', method: caller.method, path: `/orders/c${n}`, reason: want.reason, decision: want.grpc === 0 ? 'Allow' : 'Deny' }),
      ]);
      expect(records[0]!.principal?.arn, `${caller.name} #${n}`).toBe(want.principal);
    });
  }

  it('answers many checks at once over one connection, each with its own caller identity and one audit record of its own', async () => {
    const client = extAuthzClient(relay.address);
    try {
      const opened = relay.connections();
      await checkConcurrently([client], 30);
      expect(relay.connections() - opened).toBe(1);
    } finally {
      client.close();
    }
  });

  it('answers many checks at once over several connections, each with its own caller identity and one audit record of its own', async () => {
    const clients = Array.from({ length: 4 }, () => extAuthzClient(relay.address, { ownConnection: true }));
    try {
      const opened = relay.connections();
      await checkConcurrently(clients, 30);
      expect(relay.connections() - opened).toBe(clients.length);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
