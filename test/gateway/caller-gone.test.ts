// A caller that hangs up while its decision is still being made (the authenticator waiting on a key,
// Redis, the primary) leaves an allowed request with nobody to answer: iamgate must not send it
// upstream, and must still finish it once, with one outcome record and one count.
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Authenticator } from '../../src/auth/authenticators/index.js';
import type { PolicyLoader } from '../../src/gateway/server.js';
import { useTestGateway } from '../support/gateway.js';

/** Holds every authentication until `release` is called. */
function gate(): { hold: (authenticator: Authenticator) => Authenticator; arrived: Promise<void>; release: () => void } {
  let arrive: () => void = () => undefined;
  let release: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    arrived,
    release,
    hold: (authenticator) => ({
      ...authenticator,
      async authenticate(req) {
        arrive();
        await released;
        return authenticator.authenticate(req);
      },
    }),
  };
}

const held = gate();
const holding = (load: PolicyLoader): PolicyLoader => async () => {
  const loaded = await load();
  return loaded.ok ? { ...loaded, snapshot: { ...loaded.snapshot, authenticator: held.hold(loaded.snapshot.authenticator) } } : loaded;
};

/** The value of one sample of `/metrics`, 0 when absent. */
async function sample(opsUrl: string, line: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

describe('a caller gone before its allowed request is forwarded', () => {
  const gw = useTestGateway({ wrapLoader: holding });

  it('sends nothing upstream, and records and counts the request once as client_closed', async () => {
    const before = gw.upstream.arrivals();
    const open = 'iamgate_connections_open{listener="gateway"}';
    const idle = await sample(gw.opsUrl, open);
    const counted = await sample(gw.opsUrl, 'iamgate_requests_total{outcome="client_closed"}');
    const events = gw.audit.events.length;
    const req = http.get(`${gw.url}/orders/1`, { headers: { authorization: await gw.bearer('alice') } });
    req.on('error', () => undefined);
    await held.arrived;
    req.destroy();
    // Released once the gateway itself has seen the caller's connection close.
    await expect.poll(() => sample(gw.opsUrl, open), { timeout: 10_000 }).toBe(idle);
    held.release();
    await expect.poll(() => gw.audit.events.slice(events).filter((e) => e.kind === 'outcome').length, { timeout: 10_000 }).toBe(1);
    const records = gw.audit.events.slice(events);
    expect(records).toEqual([
      expect.objectContaining({ kind: 'request', decision: 'Allow' }),
      expect.objectContaining({ kind: 'outcome', reason: 'client_closed', requestId: records[0]?.requestId }),
    ]);
    expect(await sample(gw.opsUrl, 'iamgate_requests_total{outcome="client_closed"}')).toBe(counted + 1);
    expect(gw.upstream.arrivals()).toBe(before);
  });
});
