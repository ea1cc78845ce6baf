// Checks that no Envoy builds, sent by a real gRPC client: fields iamgate does not know, header maps
// far past the limits, one header named twice in two cases, pseudo-headers that contradict the
// attributes they copy, request bodies. Each is decided as the HTTP gateway would decide the
// request, or refused; each leaves exactly one audit record; none is a failed call.
import { describe, expect, it } from 'vitest';
import { body, checkOf, requestIdOf, useExtAuthzGateway } from '../extauthz/check.js';
import { callAnswer, checkBytes, http2Session, openCheckCall, rawCheckCall, streamChecks, type CheckAnswer } from '../support/grpc.js';
import { field, varint, VARINT } from '../support/protobuf-wire.js';

describe('ext_authz checks that no Envoy sends', () => {
  const { gw, client } = useExtAuthzGateway();

  /** The check's one audit record, as a Deny or Allow with its status. */
  const recordOf = (answer: CheckAnswer): unknown[] => gw.audit.decisionsFor(requestIdOf(answer));

  /**
   * CheckRequest { attributes(1) { source(1) { address(1) { socket_address(1) { address(2) } } },
   * request(4) { http(2) { method(2), headers(3) { key(1), value(2) }, path(4), host(5), `http` } } } },
   * with `unknown` inside each message, and `http` added to HttpRequest.
   */
  function checkWith(authorization: string, method: string, unknown: Buffer, http: Buffer = Buffer.alloc(0)): Buffer {
    const source = field(1, Buffer.concat([field(1, Buffer.concat([field(1, Buffer.concat([field(2, '10.1.2.3'), unknown])), unknown])), unknown]));
    const header = field(3, Buffer.concat([field(1, 'authorization'), field(2, authorization), unknown]));
    const request = field(4, Buffer.concat([field(2, Buffer.concat([field(2, method), header, field(4, '/orders/12'), field(5, 'orders.example'), unknown, http])), unknown]));
    return Buffer.concat([field(1, Buffer.concat([source, request, unknown])), unknown]);
  }

  /** Fields no version of Envoy's API numbers so: a string, a varint, a fixed64. */
  const UNKNOWN = Buffer.concat([field(99, 'x'), varint((98 << 3) | VARINT), varint(7), varint((97 << 3) | 1), Buffer.alloc(8)]);

  it('decides a check with unknown fields in every message as the same check without them', async () => {
    const authorization = await gw.bearer('alice');
    for (const [method, decided] of [['GET', 'Allow'], ['DELETE', 'Deny']] as const) {
      const plain = await checkBytes(gw.gateway.extAuthzAddress!, checkWith(authorization, method, Buffer.alloc(0)));
      const padded = await checkBytes(gw.gateway.extAuthzAddress!, checkWith(authorization, method, UNKNOWN));
      expect([padded.http_response, padded.status?.code]).toEqual([plain.http_response, plain.status?.code]);
      expect(recordOf(padded)).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: decided })]);
    }
  });

  it('decides a check carrying Envoy’s body and raw_body, even when they disagree, on its headers alone', async () => {
    // HttpRequest.body (11) and raw_body (12): iamgate's copy of the API has neither, and reads no body.
    const bodies = Buffer.concat([field(11, '{"admin":true}'), field(12, '{"admin":false}')]);
    const answer = await checkBytes(gw.gateway.extAuthzAddress!, checkWith(await gw.bearer('alice'), 'DELETE', Buffer.alloc(0), bodies));
    expect([answer.denied_response?.status?.code, body(answer)['code']]).toEqual([403, 'implicit_deny']);
    expect(recordOf(answer)).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 403 })]);
  });

  it.each(['headers', 'header_map'] as const)('refuses a %s of 100,000 entries with 431 too_many_headers and one audit record', async (form) => {
    const many = Array.from({ length: 100_000 }, (_, i) => [`x-h${i}`, 'v'] as const);
    const check = checkOf({ headers: { authorization: await gw.bearer('alice') } }) as { attributes: { request: { http: Record<string, unknown> } } };
    const http = check.attributes.request.http;
    if (form === 'headers') http['headers'] = { ...(http['headers'] as Record<string, string>), ...Object.fromEntries(many) };
    else http['header_map'] = { headers: many.map(([key, value]) => ({ key, value })) };
    const answer = await client().check(check);
    expect([answer.denied_response?.status?.code, body(answer)['code']]).toEqual([431, 'too_many_headers']);
    expect(recordOf(answer)).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 431 })]);
  });

  it('refuses an Authorization header named twice in two cases as token_malformed (401), never deciding on either token', async () => {
    const check = checkOf({ headers: { authorization: await gw.bearer('alice'), Authorization: await gw.bearer('bob') } });
    const answer = await client().check(check);
    expect([answer.denied_response?.status?.code, body(answer)['code']]).toEqual([401, 'token_malformed']);
    expect(recordOf(answer)).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 401 })]);
  });

  it('takes Host from the attributes whatever the case of a host entry in the header map', async () => {
    const authorization = await gw.bearer('alice');
    const lower = await client().check(checkOf({ headers: { authorization, host: 'other.example' } }));
    const upper = await client().check(checkOf({ headers: { authorization, Host: 'other.example' } }));
    expect(upper.http_response).toBe(lower.http_response);
    expect(upper.denied_response?.status?.code).toBe(lower.denied_response?.status?.code);
    expect(recordOf(upper)).toHaveLength(1);
  });

  it.each([
    [':path', '/admin/users'],
    [':method', 'DELETE'],
    [':authority', 'admin.example'],
  ])('refuses a check whose %s contradicts the attribute it copies with 400 and one audit record', async (pseudo, value) => {
    const answer = await client().check(checkOf({ headers: { authorization: await gw.bearer('alice'), [pseudo]: value } }));
    expect(answer.http_response).toBe('denied_response');
    expect([answer.denied_response?.status?.code, body(answer)['code']]).toEqual([400, 'ext_authz_ambiguous']);
    expect(recordOf(answer)).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 400, reason: 'ext_authz_ambiguous' })]);
  });

  it('refuses a raw header map whose :path contradicts the path attribute', async () => {
    const check = checkOf({ headers: { authorization: await gw.bearer('alice') } }) as { attributes: { request: { http: Record<string, unknown> } } };
    const http = check.attributes.request.http;
    const headers = http['headers'] as Record<string, string>;
    http['header_map'] = { headers: Object.entries({ ...headers, ':path': '/admin/users' }).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) };
    delete http['headers'];
    const answer = await client().check(check);
    expect(body(answer)['code']).toBe('ext_authz_ambiguous');
    expect(recordOf(answer)).toHaveLength(1);
  });

  it('answers or abandons a check whose deadline is 0, with one decision record either way and an outcome record only when abandoned', async () => {
    const authorization = await gw.bearer('alice');
    const session = await http2Session(gw.gateway.extAuthzAddress!);
    try {
      const before = gw.audit.events.length;
      const statuses = await Promise.all(
        ['0n', '0u', '0m', '0S'].map(
          (timeout) =>
            new Promise<string>((resolve) => {
              const stream = rawCheckCall(session, checkWith(authorization, 'GET', Buffer.alloc(0)), { metadata: { 'grpc-timeout': timeout } });
              stream.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(String(headers['grpc-status'])));
              stream.on('trailers', (trailers) => resolve(String(trailers['grpc-status'])));
              stream.on('close', () => resolve('reset'));
              stream.resume();
            }),
        ),
      );
      const abandoned = statuses.filter((s) => s !== '0').length;
      await expect.poll(() => gw.audit.events.slice(before).filter((e) => e.kind === 'outcome').length).toBe(abandoned);
      const events = gw.audit.events.slice(before);
      expect(events.filter((e) => e.kind === 'ext_authz')).toHaveLength(4);
      expect(events.filter((e) => e.kind === 'outcome')).toEqual(Array.from({ length: abandoned }, () => expect.objectContaining({ reason: 'client_closed' })));
    } finally {
      session.destroy();
    }
  });

  // Check is unary: grpc-js alone would fail such a call (UNIMPLEMENTED) before iamgate saw it,
  // with no record, and a failed call is what Envoy's failure_mode_allow may turn into an allow.
  it.each([
    ['no check', 0, 'ext_authz_no_check'],
    ['two checks', 2, 'ext_authz_several_checks'],
    ['three checks', 3, 'ext_authz_several_checks'],
  ])('denies a call carrying %s with 400 (INVALID_ARGUMENT) and one audit record, never deciding on any of them', async (_what, count, reason) => {
    const authorization = await gw.bearer('alice');
    const session = await http2Session(gw.gateway.extAuthzAddress!);
    try {
      const before = gw.audit.events.length;
      const message = checkWith(authorization, 'GET', Buffer.alloc(0));
      const head = Buffer.alloc(5);
      head.writeUInt32BE(message.length, 1);
      const stream = openCheckCall(session);
      stream.end(Buffer.concat(Array.from({ length: count }, () => Buffer.concat([head, message]))));
      const { status, answer } = await callAnswer(stream);
      expect(status).toBe('0');
      expect([answer?.status?.code, answer?.denied_response?.status?.code, body(answer!)['code']]).toEqual([3, 400, reason]);
      const records = gw.audit.events.slice(before);
      expect(records).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 400, reason, requestId: requestIdOf(answer!) })]);
    } finally {
      session.destroy();
    }
  });

  it('answers a gRPC client that streams no check, or two, on Check with a denial it reads, recorded once, and decides the next call as usual', async () => {
    const message = checkWith(await gw.bearer('alice'), 'GET', Buffer.alloc(0));
    for (const [messages, reason] of [[[], 'ext_authz_no_check'], [[message, message], 'ext_authz_several_checks']] as const) {
      const answer = await streamChecks(gw.gateway.extAuthzAddress!, messages);
      expect([answer.status?.code, answer.denied_response?.status?.code, body(answer)['code']]).toEqual([3, 400, reason]);
      expect(recordOf(answer)).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Deny', status: 400, reason })]);
    }
    const one = await streamChecks(gw.gateway.extAuthzAddress!, [message]);
    expect(one.http_response).toBe('ok_response');
    expect(recordOf(one)).toEqual([expect.objectContaining({ kind: 'ext_authz', decision: 'Allow' })]);
  });
});
