// Envoy forwards the path it checked, as it is unless `normalize_path` / `merge_slashes` are on;
// ext_authz therefore decides only on a path that normalisation leaves unchanged.
import { describe, expect, it } from 'vitest';
import { NON_CANONICAL } from '../support/canonical.js';
import { body, checkOf, requestIdOf, useExtAuthzGateway } from './check.js';

describe('ext_authz on non-canonical paths', () => {
  const { gw, client } = useExtAuthzGateway();

  it.each(['/public/x', '/public/x/', '/public/a%2a', '/public/a%2A?b=/../c'])('allows the canonical path %s', async (path) => {
    const answer = await client().check(checkOf({ path, headers: { authorization: await gw.bearer('alice') } }));
    expect(answer.status?.code).toBe(0);
    expect(answer.http_response).toBe('ok_response');
  });

  it.each(NON_CANONICAL)('refuses %s as bad_path (not_canonical), audited once', async (path) => {
    const answer = await client().check(checkOf({ path, headers: { authorization: await gw.bearer('alice') } }));
    expect(answer.http_response).toBe('denied_response');
    expect(answer.denied_response?.status?.code).toBe(400);
    expect(body(answer)).toMatchObject({ code: 'bad_path', reason: 'not_canonical' });
    expect(gw.audit.decisionsFor(requestIdOf(answer)).map((e) => [e.kind, e.reason])).toEqual([['ext_authz', 'bad_path']]);
  });
});
