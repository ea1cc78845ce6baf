// The size of a check Envoy sends. Envoy accepts header blocks up to `max_request_headers_kb`,
// whose ceiling is 8 MiB, and copies the path into the check twice; grpc-js refuses a message over
// 4 MiB by default, failing the call before any handler runs: no audit record, and Envoy's own
// failure mode answering the caller instead of iamgate (an allow under `failure_mode_allow`).
import { describe, expect, it } from 'vitest';
import { body, checkOf, requestIdOf, useExtAuthzGateway } from '../extauthz/check.js';

const MIB = 1024 * 1024;

describe('an ext_authz check as large as Envoy can send', () => {
  const { gw, client } = useExtAuthzGateway();

  it.each([5 * MIB, 8 * MIB])('with %d bytes of one header is refused 431 headers_too_large with one audit record, never a failed call', async (size) => {
    const answer = await client().check(checkOf({ headers: { authorization: await gw.bearer('alice'), 'x-padding': 'a'.repeat(size) } }));
    expect([answer.denied_response?.status?.code, body(answer)['code']]).toEqual([431, 'headers_too_large']);
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 431 })]);
  });

  it('with an 8 MiB path, carried as path and :path, is refused with one audit record, never a failed call', async () => {
    const path = `/orders/${'a'.repeat(8 * MIB)}`;
    const answer = await client().check(checkOf({ path, headers: { authorization: await gw.bearer('alice') } }));
    expect(answer.http_response).toBe('denied_response');
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toHaveLength(1);
  });
});
