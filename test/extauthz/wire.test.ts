// Envoy's wire format, written by hand at the field numbers of Envoy's v3 API (external_auth.proto,
// attribute_context.proto, base.proto, address.proto, http_status.proto, google/rpc/status.proto),
// independent of iamgate's proto/ files: a wrong field number there fails here.
import { Client, credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';
import { field, LEN, varint, VARINT } from '../support/protobuf-wire.js';


function uint(no: number, value: number): Buffer {
  return Buffer.concat([varint((no << 3) | VARINT), varint(value)]);
}

function message(...fields: Buffer[]): Buffer {
  return Buffer.concat(fields);
}

/** A map<string, string> entry: key 1, value 2. */
function entry(no: number, key: string, value: string): Buffer {
  return field(no, message(field(1, key), field(2, value)));
}

type Fields = Map<number, (Buffer | number)[]>;

/** Decodes one message level: field number → values (varints as numbers, the rest as bytes). */
function decode(buf: Buffer): Fields {
  const out: Fields = new Map();
  let i = 0;
  const read = (): number => {
    let n = 0;
    let shift = 1;
    for (;;) {
      const b = buf[i++]!;
      n += (b & 0x7f) * shift;
      if (b < 0x80) return n;
      shift *= 128;
    }
  };
  while (i < buf.length) {
    const key = read();
    const no = Math.floor(key / 8);
    const type = key & 7;
    let value: Buffer | number;
    if (type === VARINT) value = read();
    else if (type === LEN) {
      const len = read();
      value = buf.subarray(i, i + len);
      i += len;
    } else throw new Error(`unexpected wire type ${type}`);
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}

function sub(fields: Fields, no: number): Fields {
  const v = fields.get(no)?.[0];
  if (!Buffer.isBuffer(v)) throw new Error(`field ${no} is not a message`);
  return decode(v);
}

function num(fields: Fields, no: number): number {
  return (fields.get(no)?.[0] as number | undefined) ?? 0;
}

function text(fields: Fields, no: number): string {
  const v = fields.get(no)?.[0];
  return Buffer.isBuffer(v) ? v.toString() : '';
}

/** HeaderValueOption list → name → value, with each option's append_action (field 3). */
function headerOptions(list: readonly (Buffer | number)[]): Map<string, { value: string; action: number }> {
  const out = new Map<string, { value: string; action: number }>();
  for (const raw of list) {
    const option = decode(raw as Buffer);
    const header = sub(option, 1);
    out.set(text(header, 1), { value: text(header, 2), action: num(option, 3) });
  }
  return out;
}

/** CheckRequest { attributes(1): AttributeContext } as Envoy's HTTP filter encodes it. */
function checkRequest(o: { method: string; path: string; headers: Record<string, string>; raw?: boolean; principal?: string }): Buffer {
  const address = field(1, message(field(1, message(uint(1, 0), field(2, '10.7.7.7'), uint(3, 40000))))); // Address.socket_address: protocol, address, port_value
  const source = message(address, field(2, 'frontend'), ...(o.principal ? [field(4, o.principal)] : []));
  const headers = o.raw
    ? // header_map (13): HeaderMap.headers (1) of HeaderValue {key 1, raw_value 3}
      [field(13, message(...Object.entries(o.headers).map(([k, v]) => field(1, message(field(1, k), field(3, Buffer.from(v)))))))]
    : Object.entries(o.headers).map(([k, v]) => entry(3, k, v));
  const http = message(field(1, 'req-1'), field(2, o.method), ...headers, field(4, o.path), field(5, 'orders.example'), field(6, 'https'), field(10, 'HTTP/2'));
  const request = message(field(2, http)); // Request.http
  const attributes = message(field(1, source), field(4, request), entry(10, 'virtual_host', 'orders'));
  return message(field(1, attributes));
}

describe('the ext_authz server on the wire', () => {
  const gw = useTestGateway({ config: { extAuthz: { grpc: { host: '127.0.0.1', port: 0 } } } });
  let client: Client;
  beforeAll(() => {
    client = new Client(gw.gateway.extAuthzAddress!, credentials.createInsecure());
  });
  afterAll(() => client.close());

  const check = (body: Buffer): Promise<Fields> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest<Buffer, Buffer>(
        '/envoy.service.auth.v3.Authorization/Check',
        (b) => b,
        (b) => b,
        body,
        (err, res) => (err ? reject(err) : resolve(decode(res!))),
      );
    });

  it('reads method, path, host, headers and source at Envoy field numbers and answers OkHttpResponse at field 3', async () => {
    const response = await check(checkRequest({ method: 'GET', path: '/orders/3?full=1', headers: { authorization: await gw.bearer('alice'), 'x-iamgate-mfa': 'true' } }));
    expect(num(sub(response, 1), 1)).toBe(0); // google.rpc.Status.code
    const ok = sub(response, 3);
    const set = headerOptions(ok.get(2) ?? []);
    expect(set.get('x-iamgate-principal')).toEqual({ value: 'arn:aws:iam::111122223333:user/alice', action: 2 });
    expect(set.get('x-iamgate-mfa')).toEqual({ value: 'false', action: 2 });
    const removed = (ok.get(5) ?? []).map((b) => (b as Buffer).toString());
    expect(removed).toContain('authorization');
    const requestId = set.get('x-iamgate-request-id')!.value;
    expect(gw.audit.decisionsFor(requestId)).toEqual([expect.objectContaining({ kind: 'ext_authz', path: '/orders/3', sourceIp: '10.7.7.7', method: 'GET', action: 'orders:GetOrder' })]);
  });

  it('reads the raw header map (field 13, raw_value) that encode_raw_headers sends', async () => {
    const response = await check(checkRequest({ method: 'GET', path: '/orders/3', raw: true, headers: { authorization: await gw.bearer('bob') } }));
    expect(num(sub(response, 1), 1)).toBe(0);
    expect(headerOptions(sub(response, 3).get(2) ?? []).get('x-iamgate-principal')?.value).toBe('arn:aws:iam::111122223333:user/bob');
  });

  it('answers DeniedHttpResponse at field 2 with HttpStatus, headers and body', async () => {
    const response = await check(checkRequest({ method: 'DELETE', path: '/orders/3', headers: { authorization: await gw.bearer('bob') } }));
    expect(num(sub(response, 1), 1)).toBe(7);
    const denied = sub(response, 2);
    expect(num(sub(denied, 1), 1)).toBe(403); // HttpStatus.code
    expect(headerOptions(denied.get(2) ?? []).get('content-type')?.value).toBe('application/json');
    expect(JSON.parse(text(denied, 3))).toMatchObject({ error: 'AccessDenied', reason: 'implicit_deny' });
  });

  it('denies an empty CheckRequest with INVALID_ARGUMENT and 400', async () => {
    const response = await check(Buffer.alloc(0));
    expect(num(sub(response, 1), 1)).toBe(3);
    expect(num(sub(sub(response, 2), 1), 1)).toBe(400);
  });
});
