// Framing the HTTP gateway refuses before deciding anything, read from header lines: an upgrade to
// another protocol than one WebSocket, a WebSocket upgrade that is no opening handshake (RFC 6455
// §4.1: an HTTP/1.1 GET with one key), an expectation other than 100-continue, a body length told
// twice, a header line node:http cannot read. node:http refuses these on the gateway's own socket;
// a request described to iamgate by another proxy (an ext_authz check) is refused by the same
// rules, so that proxy never forwards a request iamgate would not forward itself (the one rule
// HTTP/1 alone has, a WebSocket key, is not asked of a request that proxy received over HTTP/2 or 3).
import { isWebSocketKey } from '../proxy/index.js';
import type { Refusal } from './pipeline.js';

/** An Upgrade other than exactly one `websocket`: another protocol would leave the framing that was authorised. */
export const UNSUPPORTED_UPGRADE = {
  code: 'bad_header',
  reason: 'unsupported_upgrade',
  message: 'Only WebSocket upgrades are supported',
  detail: 'an Upgrade other than one websocket',
} as const satisfies Refusal;

/**
 * A WebSocket upgrade that is no opening handshake: another method than GET (the tunnel would carry
 * bytes under a decision on another action), or not exactly one valid Sec-WebSocket-Key (the upstream's
 * answer is checked against a key, and the caller's is answered).
 */
const INVALID_WEBSOCKET_UPGRADE = {
  code: 'bad_header',
  reason: 'unsupported_upgrade',
  message: 'A WebSocket upgrade must be a GET with one valid Sec-WebSocket-Key',
  detail: 'a WebSocket upgrade that is not a GET with one valid Sec-WebSocket-Key',
} as const satisfies Refusal;

/** A WebSocket upgrade in HTTP/1.0: RFC 6455 §4.1 opens a WebSocket with an HTTP/1.1 request only. */
const HTTP10_WEBSOCKET_UPGRADE = {
  code: 'bad_header',
  reason: 'unsupported_upgrade',
  message: 'A WebSocket upgrade must be an HTTP/1.1 request',
  detail: 'a WebSocket upgrade in HTTP/1.0',
} as const satisfies Refusal;

/**
 * How a request's WebSocket would open: by HTTP/1.1's handshake, which carries a Sec-WebSocket-Key;
 * in an HTTP before 1.1, which cannot open one; or by an extended CONNECT (HTTP/2 and HTTP/3:
 * RFC 8441, RFC 9220), which has no key, and which Envoy hands its filters (and so a check) as a
 * GET with Upgrade.
 */
export type WebSocketOpening = 'http/1.1' | 'http/1.0' | 'extended-connect';

/** CONNECT: iamgate proxies requests to one upstream and tunnels nothing to a target a caller names. */
export const UNSUPPORTED_CONNECT = {
  code: 'malformed_request',
  reason: 'unsupported_method',
  message: 'CONNECT is not supported',
  detail: 'a CONNECT request',
} as const satisfies Refusal;

/** Printable ASCII, spaces included: what every method a route can name is written in. */
const PRINTABLE_ASCII = /^[ -~]+$/;

/**
 * Whether a method another proxy describes (forward-auth's X-Original-Method, an ext_authz check's
 * method) is printable ASCII. Any other (a NEL byte, a line separator, a control character) names
 * no method a route can, and would reach the audit record's method as it came; a printable one
 * that no route names is decided as an unmapped request.
 */
export const isPrintableMethod = (method: string): boolean => PRINTABLE_ASCII.test(method);

/** Why an upgrade request is not tunnelled, or undefined for a WebSocket opening handshake iamgate carries. */
export function upgradeRefusal(method: string, rawHeaders: readonly string[], opening: WebSocketOpening): Refusal | undefined {
  const upgrades: string[] = [];
  const keys: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (name === 'upgrade') upgrades.push(rawHeaders[i + 1]!);
    else if (name === 'sec-websocket-key') keys.push(rawHeaders[i + 1]!);
  }
  if (upgrades.length !== 1 || upgrades[0]!.trim().toLowerCase() !== 'websocket') return UNSUPPORTED_UPGRADE;
  if (opening === 'http/1.0') return HTTP10_WEBSOCKET_UPGRADE;
  if (method !== 'GET') return INVALID_WEBSOCKET_UPGRADE;
  if (opening === 'http/1.1' ? keys.length !== 1 || !isWebSocketKey(keys[0]!) : keys.length > 1) return INVALID_WEBSOCKET_UPGRADE;
  return undefined;
}

/** A comma-separated header value holds `token` (case-insensitive), as node:http reads Connection. */
function listHas(value: string, token: string): boolean {
  for (const item of value.split(',')) if (item.trim().toLowerCase() === token) return true;
  return false;
}

/** A Content-Length node:http accepts: digits only. */
const CONTENT_LENGTH = /^\d+$/;
/** A field name node:http accepts: an RFC 9110 token. */
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What node:http refuses in a field value: a control character other than a tab. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * What node:http would refuse (or iamgate refuses on its socket) in a described request's method and
 * header lines (`[name, value, ...]`, repeated names either apart or joined by commas), or undefined.
 * `opening` as for `upgradeRefusal`. Runs on checks only; the gateway's own requests are refused by its
 * HTTP parser.
 */
export function describedFramingRefusal(method: string, rawHeaders: readonly string[], opening: WebSocketOpening): Refusal | undefined {
  let upgrade = false;
  let connectionUpgrade = false;
  let transferEncoding = false;
  let expect: string | undefined;
  let length: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    // A line node:http cannot read: the gateway's socket answers it 400 before any decision.
    if (!FIELD_NAME.test(name) || CONTROL.test(value)) return { code: 'malformed_request', detail: 'a header name that is not a token, or a control character in a value' };
    switch (name.toLowerCase()) {
      case 'upgrade':
        upgrade = true;
        break;
      case 'connection':
        connectionUpgrade ||= listHas(value, 'upgrade');
        break;
      case 'transfer-encoding':
        transferEncoding = true;
        break;
      case 'expect':
        expect = expect === undefined ? value : `${expect},${value}`;
        break;
      case 'content-length':
        // node:http refuses a second Content-Length, even one that agrees, and any text but digits.
        if (length !== undefined || !CONTENT_LENGTH.test(value)) return { code: 'malformed_request', detail: 'invalid or repeated Content-Length' };
        length = value;
        break;
    }
  }
  if (length !== undefined && transferEncoding) return { code: 'malformed_request', detail: 'Content-Length beside Transfer-Encoding' };
  const refusedUpgrade = upgrade && connectionUpgrade ? upgradeRefusal(method, rawHeaders, opening) : undefined;
  if (refusedUpgrade) return refusedUpgrade;
  if (expect !== undefined && expect.trim().toLowerCase() !== '100-continue') return { code: 'expectation_failed', detail: `Expect: ${expect}`.slice(0, 200) };
  return undefined;
}
