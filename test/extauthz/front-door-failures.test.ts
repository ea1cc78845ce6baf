import { describe, expect, it } from 'vitest';
import { FIXTURES, useTestGateway } from '../support/gateway.js';
import { extAuthzClient } from '../support/grpc.js';
import { body, checkOf, EXT_AUTHZ_DIRECTORY, requestIdOf } from './check.js';

/** A clock that fails every reading while `failing` is set: the first thing a check reads outside the pipeline. */
function failingClock(): { now: () => number; failing: boolean } {
  const clock = {
    failing: false,
    now(): number {
      if (clock.failing) throw new RangeError('the clock is unreadable');
      return Date.now();
    },
  };
  return clock;
}

describe('an ext_authz check that fails outside the pipeline', () => {
  const clock = failingClock();
  const gw = useTestGateway({ config: { extAuthz: { grpc: { host: '127.0.0.1', port: 0 } } }, files: { directory: EXT_AUTHZ_DIRECTORY, routes: FIXTURES.routes }, now: () => clock.now() });

  it('is denied 500 internal_error with exactly one ext_authz audit record under the request id it carries', async () => {
    const client = extAuthzClient(gw.gateway.extAuthzAddress!, { ownConnection: true });
    try {
      const authorization = await gw.bearer('alice');
      clock.failing = true;
      const answer = await client.check(checkOf({ headers: { authorization } })).finally(() => (clock.failing = false));
      expect(answer.http_response).toBe('denied_response');
      expect(answer.denied_response?.status?.code).toBe(500);
      expect(answer.status?.code).toBe(13);
      const requestId = requestIdOf(answer);
      expect(body(answer)).toMatchObject({ code: 'internal_error', requestId });
      expect(gw.audit.events.filter((e) => e.requestId === requestId)).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', reason: 'internal_error', status: 500 })]);
      // The next check is decided as usual.
      const next = await client.check(checkOf({ headers: { authorization } }));
      expect(next.http_response).toBe('ok_response');
      expect(gw.audit.decisionsFor(requestIdOf(next))).toHaveLength(1);
    } finally {
      client.close();
    }
  });
});
