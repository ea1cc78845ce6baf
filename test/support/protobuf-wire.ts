// Protocol Buffers' wire format written by hand, for suites that send gRPC messages byte for byte
// (Envoy's field numbers, or bytes that are not a valid message at all).

/** Wire types: a varint, and a length-delimited field (string, bytes, embedded message). */
export const VARINT = 0;
export const LEN = 2;

/** An unsigned integer as a base-128 varint. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** A length-delimited field: a string, bytes or an embedded message. */
export function field(no: number, value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint((no << 3) | LEN), varint(bytes.length), bytes]);
}
