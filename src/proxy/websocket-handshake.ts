// The WebSocket opening handshake (RFC 6455 §4) as iamgate carries it. The upstream is sent a key of
// iamgate's own choosing, and its 101 opens a tunnel only when it names `websocket` and answers that
// key: a server that wrote a 101 without switching (a status or headers echoed from the request)
// would read whatever the caller sends next as HTTP requests that nothing decided. The caller gets
// the answer to its own key.
import { createHash, randomBytes } from 'node:crypto';

/** The GUID a server appends to the key (RFC 6455 §1.3). */
const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A Sec-WebSocket-Key: 16 bytes in base64 (the last character before the padding holds two bits). */
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

/** Whether `value` is a Sec-WebSocket-Key a client may send (RFC 6455 §4.1). */
export const isWebSocketKey = (value: string): boolean => KEY.test(value);

/** The Sec-WebSocket-Accept that answers `key` (RFC 6455 §4.2.2). */
export function webSocketAccept(key: string): string {
  return createHash('sha1').update(key + HANDSHAKE_GUID).digest('base64');
}

/** A fresh key for the upstream, which neither the caller nor anything it can reach knows. */
export function newWebSocketKey(): string {
  return randomBytes(16).toString('base64');
}

const latin1 = (b: Buffer | string): string => (typeof b === 'string' ? b : b.toString('latin1'));

/** Whether a 101's raw headers answer a WebSocket handshake sent with `key`: one `Upgrade: websocket`, one matching accept. */
export function answersHandshake(raw: readonly (Buffer | string)[], key: string): boolean {
  const upgrades: string[] = [];
  const accepts: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = latin1(raw[i]!).toLowerCase();
    if (name === 'upgrade') upgrades.push(latin1(raw[i + 1]!));
    else if (name === 'sec-websocket-accept') accepts.push(latin1(raw[i + 1]!));
  }
  return upgrades.length === 1 && upgrades[0]!.trim().toLowerCase() === 'websocket' && accepts.length === 1 && accepts[0]!.trim() === webSocketAccept(key);
}

/** `headers` (flat `[name, value, ...]`) with every Sec-WebSocket-Key replaced by one line holding `key`. */
export function withWebSocketKey(headers: readonly string[], key: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() !== 'sec-websocket-key') out.push(headers[i]!, headers[i + 1]!);
  out.push('sec-websocket-key', key);
  return out;
}

/** `headers` (flat) with the Sec-WebSocket-Accept value replaced by `accept`. */
export function withWebSocketAccept(headers: readonly string[], accept: string): string[] {
  const out = [...headers];
  for (let i = 0; i < out.length; i += 2) if (out[i]!.toLowerCase() === 'sec-websocket-accept') out[i + 1] = accept;
  return out;
}
