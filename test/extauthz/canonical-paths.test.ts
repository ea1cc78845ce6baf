// Envoy forwards the path it checked, as it is unless `normalize_path` / `merge_slashes` are on;
// ext_authz therefore decides only on a path that normalisation leaves unchanged.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NON_CANONICAL } from '../support/canonical.js';
import { FIXTURES, useTestGateway } from '../support/gateway.js';
import { extAuthzClient, type ExtAuthzClient } from '../support/grpc.js';
import { body, checkOf, requestIdOf } from './check.js';

const DIRECTORY = fileURLToPath(new URL('./fixtures/directory.yaml', import.meta.url));

describe('ext_authz on non-canonical paths', () => {
  const gw = useTestGateway({ config: { extAuthz: { grpc: { host: '127.0.0.1', port: 0 } } }, files: { directory: DIRECTORY, routes: FIXTURES.routes } });
  let client: ExtAuthzClient;
  beforeAll(() => {
    client = extAuthzClient(gw.gateway.extAuthzAddress!);
  });
  afterAll(() => client.close());

  it.each(['/public/x', '/public/x/', '/public/a%2a', '/public/a%2A?b=/../c'])('allows the canonical path %s', async (path) => {
    const answer = await client.check(checkOf({ path, headers: { authorization: await gw.bearer('alice') } }));
    expect(answer.status?.code).toBe(0);
    expect(answer.http_response).toBe('ok_response');
  });

  it.each(NON_CANONICAL)('refuses %s as bad_path (not_canonical), audited once', async (path) => {
    const answer = await client.check(checkOf({ path, headers: { authorization: await gw.bearer('alice') } }));
    expect(answer.http_response).toBe('denied_response');
    expect(answer.denied_response?.status?.code).toBe(400);
    expect(body(answer)).toMatchObject({ code: 'bad_path', reason: 'not_canonical' });
    expect(gw.audit.decisionsFor(requestIdOf(answer)).map((e) => [e.kind, e.reason])).toEqual([['ext_authz', 'bad_path']]);
  });
});
