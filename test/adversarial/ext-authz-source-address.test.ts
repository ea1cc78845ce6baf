// The source address of an ext_authz check is what Envoy saw: an IPv4 or IPv6 socket address, an
// IPv4-mapped IPv6 address on a dual-stack listener, or none at all when the caller came over a
// unix socket (Envoy's `pipe` address) or the check omits it. A policy that allows only from a
// range, or denies from outside it, or allows only a null address, must never allow a check whose
// address it cannot read.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { body, checkOf, useExtAuthzGateway } from '../extauthz/check.js';

const DIRECTORY = fileURLToPath(new URL('./fixtures/source-address-directory.yaml', import.meta.url));

/** Envoy's `source.address`: a socket address, a unix socket's `pipe`, or none (undefined). */
type Source = { socket_address: { address: string; port_value: number } } | { pipe: { path: string } } | undefined;

const INSIDE: readonly [string, Source][] = [
  ['an IPv4 address in the range', { socket_address: { address: '10.1.2.3', port_value: 51000 } }],
  ['the IPv4-mapped IPv6 form of one', { socket_address: { address: '::ffff:10.1.2.3', port_value: 51000 } }],
];

const UNREADABLE_OR_OUTSIDE: readonly [string, Source][] = [
  ['an IPv4 address outside the range', { socket_address: { address: '203.0.113.9', port_value: 51000 } }],
  ['the IPv4-mapped IPv6 form of one', { socket_address: { address: '::ffff:203.0.113.9', port_value: 51000 } }],
  ['an IPv6 address', { socket_address: { address: '2001:db8::1', port_value: 51000 } }],
  ['an IPv6 address with a zone', { socket_address: { address: 'fe80::1%eth0', port_value: 51000 } }],
  ['a unix socket', { pipe: { path: '/var/run/envoy.sock' } }],
  ['no source at all', undefined],
  ['text that is no address', { socket_address: { address: '10.1.2.3.evil', port_value: 51000 } }],
  ['an empty address', { socket_address: { address: '', port_value: 0 } }],
];

describe('the source address of an ext_authz check', () => {
  const { gw, client } = useExtAuthzGateway({ directory: DIRECTORY });

  async function decide(user: string, source: Source): Promise<string> {
    const check = checkOf({ headers: { authorization: await gw.bearer(user) } }) as { attributes: { source?: unknown } };
    if (source === undefined) delete check.attributes.source;
    else check.attributes.source = { address: source };
    const answer = await client().check(check);
    return answer.http_response === 'ok_response' ? 'allowed' : String(body(answer)['reason'] ?? body(answer)['code']);
  }

  it.each(INSIDE)('allows from %s, as a baseline', async (_what, source) => {
    expect([await decide('alice', source), await decide('carol', source)]).toEqual(['allowed', 'allowed']);
  });

  it.each(UNREADABLE_OR_OUTSIDE)('never allows from %s: the Deny outside the range holds, the Allow inside it does not, nor one on a null address', async (_what, source) => {
    expect([await decide('alice', source), await decide('carol', source), await decide('dave', source)]).toEqual(['explicit_deny', 'implicit_deny', 'implicit_deny']);
  });
});
