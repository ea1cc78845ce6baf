// A check Envoy stops waiting for (its ext_authz timeout, sent as the call's deadline) while
// iamgate is still deciding: Envoy answers the caller by its own failure mode, and iamgate's
// answer reaches no one. The decision record alone would show an allowed check as an access the
// caller never made; the trail must say the answer was not applied.
import type { ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { checkOf, EXT_AUTHZ_DIRECTORY, requestIdOf } from '../extauthz/check.js';
import { FIXTURES, useTestGateway } from '../support/gateway.js';
import { extAuthzClient } from '../support/grpc.js';
import type { Authenticator } from '../../src/gateway/index.js';

describe('an ext_authz check Envoy gives up on while iamgate decides', () => {
  /** Authentication waits on this gate while a test holds it. */
  let gate: Promise<void> = Promise.resolve();
  const holding = (inner: Authenticator): Authenticator => ({
    ...inner,
    authenticate: async (facts) => {
      await gate;
      return inner.authenticate(facts);
    },
  });
  const gw = useTestGateway({ config: { extAuthz: { grpc: { host: '127.0.0.1', port: 0 } } }, files: { directory: EXT_AUTHZ_DIRECTORY, routes: FIXTURES.routes }, wrapAuthenticator: holding });

  it('leaves its decision record followed by an outcome client_closed, and an answered check none', async () => {
    const client = extAuthzClient(gw.gateway.extAuthzAddress!);
    try {
      const answered = await client.check(checkOf({ headers: { authorization: await gw.bearer('alice') } }));
      expect(gw.audit.events.filter((e) => e.requestId === requestIdOf(answered)).map((e) => e.kind)).toEqual(['ext_authz']);

      let letGo = (): void => undefined;
      gate = new Promise((resolve) => (letGo = resolve));
      const before = gw.audit.events.length;
      const abandoned = await client.check(checkOf({ headers: { authorization: await gw.bearer('alice') } }), { deadlineMs: 300 }).then(
        () => undefined,
        (err: ServiceError) => err.code,
      );
      expect(abandoned).toBe(4); // DEADLINE_EXCEEDED
      // A call on the same connection after the cancelled one: the server has read its cancel by the time it answers.
      await client.health('');
      letGo();
      await expect.poll(() => gw.audit.events.slice(before).map((e) => e.kind)).toEqual(['ext_authz', 'outcome']);
      const [decision, outcome] = gw.audit.events.slice(before);
      expect(decision).toMatchObject({ decision: 'Allow' });
      expect(outcome).toMatchObject({ kind: 'outcome', reason: 'client_closed', status: 499, requestId: decision!.requestId });
    } finally {
      client.close();
    }
  });
});
