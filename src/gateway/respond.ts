// Writing iamgate's own answers (rejections, forward-auth results, proxy failures) straight onto
// Node's response or, for upgrade requests, onto the raw socket.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { IDENTITY_HEADERS } from '../proxy/index.js';
import { errorAnswer, type GatewayErrorCode } from './errors.js';
import { endRefused } from './sockets.js';

/** The headers of every JSON answer iamgate writes itself. */
function jsonHeaders(text: string, requestId: string, extra: Readonly<Record<string, string>>): Record<string, string> {
  return {
    ...extra,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    [IDENTITY_HEADERS.requestId]: requestId,
  };
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
  headers: Readonly<Record<string, string>> = {},
): void {
  if (outgoing.headersSent || outgoing.destroyed) {
    outgoing.destroy();
    return;
  }
  const text = JSON.stringify(body);
  const out = jsonHeaders(text, requestId, headers);
  if (!incoming.complete) out['connection'] = 'close';
  outgoing.writeHead(status, out);
  outgoing.end(text);
}

/**
 * Writes a complete HTTP/1.1 JSON response on a raw socket (a refused upgrade, malformed HTTP) and
 * closes it within a bounded time, whatever the client keeps sending.
 */
export function writeSocketJson(socket: Duplex, status: number, body: unknown, requestId: string, headers: Readonly<Record<string, string>> = {}): void {
  if (socket.destroyed) return;
  const text = JSON.stringify(body);
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`];
  for (const [k, v] of Object.entries({ ...jsonHeaders(text, requestId, headers), connection: 'close' })) lines.push(`${k}: ${v}`);
  endRefused(socket, lines.join('\r\n') + '\r\n\r\n' + text);
}

/** Writes the table's answer for `code` (status and JSON body) on Node's response. */
export function writeError(incoming: IncomingMessage, outgoing: ServerResponse, code: GatewayErrorCode, requestId: string): void {
  const { status, body } = errorAnswer(code, requestId);
  writeJson(incoming, outgoing, status, body, requestId);
}

/** Writes the table's answer for `code` on a raw socket and closes it (see writeSocketJson). */
export function writeSocketError(socket: Duplex, code: GatewayErrorCode, requestId: string, reason: string = code, message?: string): void {
  const { status, body } = errorAnswer(code, requestId, reason, message);
  writeSocketJson(socket, status, body, requestId);
}
