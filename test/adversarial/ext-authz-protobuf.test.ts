// A CheckRequest that does not decode (truncated, a length past its end, a wrong wire type, a
// varint longer than ten bytes, a group) is still a check: it must be answered with a denial and
// its reason, and leave one audit record. A failed gRPC call instead would leave no record, and
// Envoy would apply its own failure mode, which may be to allow.
import { describe, expect, it } from 'vitest';
import { checkBytes, type CheckAnswer } from '../support/grpc.js';
import { useTestGateway } from '../support/gateway.js';
import { field, varint, VARINT } from '../support/protobuf-wire.js';
import { body, requestIdOf } from '../extauthz/check.js';

/** CheckRequest { attributes(1) { request(4) { http(2) { method(2), path(4), host(5) } } } }. */
const WELL_FORMED = field(1, field(4, field(2, Buffer.concat([field(2, 'GET'), field(4, '/orders/12'), field(5, 'orders.example')]))));

const MALFORMED: readonly [string, Buffer][] = [
  ['truncated inside a field', WELL_FORMED.subarray(0, 10)],
  ['a length past the end of the message', Buffer.concat([varint((1 << 3) | 2), varint(2 ** 31), Buffer.from('abc')])],
  ['a varint where a message is expected', Buffer.from([(1 << 3) | VARINT, 1])],
  ['a varint where the method string is expected', field(1, field(4, field(2, Buffer.concat([Buffer.from([(2 << 3) | VARINT, 5]), field(4, '/orders/12')]))))],
  ['a varint of eleven bytes', Buffer.from([8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
  ['a group (a deprecated wire type)', Buffer.from([(1 << 3) | 3, (1 << 3) | 4])],
];

describe('ext_authz checks that are not valid protobuf', () => {
  const gw = useTestGateway({ config: { extAuthz: { grpc: { host: '127.0.0.1', port: 0 } } } });
  const check = (bytes: Buffer): Promise<CheckAnswer> => checkBytes(gw.gateway.extAuthzAddress!, bytes);

  it.each(MALFORMED)('denies a check with %s with 400 and INVALID_ARGUMENT, and one audit record', async (_what, bytes) => {
    const answer = await check(bytes);
    expect(answer.ok_response).toBeUndefined();
    expect(answer.status?.code).toBe(3);
    expect(answer.denied_response?.status?.code).toBe(400);
    expect(body(answer)).toMatchObject({ error: 'BadRequest', code: 'ext_authz_malformed', message: 'The check request is not a valid CheckRequest' });
    expect(gw.audit.decisionsFor(requestIdOf(answer))).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 400, reason: 'ext_authz_malformed' })]);
  });

  it('still decides a well-formed check after the malformed ones', async () => {
    const answer = await check(WELL_FORMED);
    expect(body(answer)['code']).toBe('token_missing');
  });
});
