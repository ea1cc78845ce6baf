// Writing iamgate's own answers (rejections, forward-auth results, proxy failures) straight onto
// Node's response or, for upgrade requests, onto the raw socket.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { IDENTITY_HEADERS } from '../proxy/index.js';
import { errorAnswer, GATEWAY_ERRORS, operatorErrorBody, type GatewayErrorCode } from '../errors/index.js';
import { endRefused } from '../proxy/index.js';

/**
 * The headers of every JSON answer iamgate writes itself, as the flat list (name, value, ...) that
 * `writeHead` takes: the answer's own headers first, then the fixed ones. A flat list is built
 * with pushes; an object literal with a computed key per answer is built slowly and read slowly.
 */
function jsonHeaders(length: number, requestId: string | undefined, extra: Readonly<Record<string, string>>, close: boolean): string[] {
  const out: string[] = [];
  for (const name in extra) out.push(name, extra[name] as string);
  out.push('content-type', 'application/json', 'content-length', String(length), 'cache-control', 'no-store');
  if (requestId !== undefined) out.push(IDENTITY_HEADERS.requestId, requestId);
  if (close) out.push('connection', 'close');
  return out;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Set on a connection whose answer closes it: nothing parsed on it afterwards will be answered. */
const CLOSING: unique symbol = Symbol('iamgate.closing');
type MarkedSocket = Duplex & { [CLOSING]?: true };

/**
 * Marks `socket` as closing after the answer being written (`connection: close`). Node may already
 * have parsed a request pipelined behind that answer, or parse one before the socket ends: such a
 * request will never be answered, so the listener drops it before anything decides or records it.
 * A request whose body failed (failBody) has no socket any more (`null`, whatever Node's types
 * say): its connection was marked when the body failed.
 */
export function closeAfterAnswer(socket: Duplex | null): void {
  if (socket !== null) (socket as MarkedSocket)[CLOSING] = true;
}

/** Whether an answer on `socket` has closed it (closeAfterAnswer): one property read, per request. */
export function closingSocket(socket: Duplex): boolean {
  return (socket as MarkedSocket)[CLOSING] === true;
}

/**
 * Writes a JSON answer. When the caller's body was not read, the connection is closed after the
 * answer: leftover body bytes would otherwise be parsed as the next request.
 */
export function writeJson(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
  headers: Readonly<Record<string, string>> = NO_HEADERS,
): void {
  if (outgoing.headersSent || outgoing.destroyed) {
    outgoing.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const close = !incoming.complete;
  if (close) closeAfterAnswer(incoming.socket);
  outgoing.writeHead(status, jsonHeaders(Buffer.byteLength(text), requestId, headers, close));
  outgoing.end(text);
}

/**
 * Writes a complete HTTP/1.1 JSON response on a raw socket (a refused upgrade, malformed HTTP) and
 * closes it within a bounded time, whatever the client keeps sending. `requestId` is undefined for
 * an answer no audit record names (the operations listener's).
 */
export function writeSocketJson(socket: Duplex, status: number, body: unknown, requestId: string | undefined, headers: Readonly<Record<string, string>> = NO_HEADERS): void {
  if (socket.destroyed) return;
  const text = JSON.stringify(body);
  const list = jsonHeaders(Buffer.byteLength(text), requestId, headers, true);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`;
  for (let i = 0; i < list.length; i += 2) head += `\r\n${list[i]}: ${list[i + 1]}`;
  endRefused(socket, head + '\r\n\r\n' + text);
}

/** Writes the table's answer for `code` (status and JSON body) on Node's response. */
export function writeError(incoming: IncomingMessage, outgoing: ServerResponse, code: GatewayErrorCode, requestId: string): void {
  const { status, body } = errorAnswer(code, requestId);
  writeJson(incoming, outgoing, status, body, requestId);
}

/**
 * Writes the table's answer for `code` on a raw socket of the operations listener and closes it:
 * the listener records nothing, so no request id names the answer (as operatorErrorBody).
 */
export function writeOperatorSocketError(socket: Duplex, code: GatewayErrorCode, reason: string = code, message?: string): void {
  writeSocketJson(socket, GATEWAY_ERRORS[code].status, operatorErrorBody(code, message, reason), undefined);
}

/** Writes the table's answer for `code` on a raw socket and closes it (see writeSocketJson). */
export function writeSocketError(socket: Duplex, code: GatewayErrorCode, requestId: string, reason: string = code, message?: string): void {
  const { status, body } = errorAnswer(code, requestId, reason, message);
  writeSocketJson(socket, status, body, requestId);
}
