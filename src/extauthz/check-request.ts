// Reading an Envoy CheckRequest: the same request facts the HTTP gateway takes from a socket
// (method, target with query, Host, headers, source address, TLS), plus what only the mesh knows
// (the peer's principal and certificate, context_extensions). A check without HTTP attributes, or
// with more header than the gateway itself accepts, or framed as the gateway's own socket would
// refuse, or whose pseudo-headers contradict its attributes, is refused through the pipeline (audited).
import { describedFramingRefusal, isPrintableMethod, type Refusal, type RequestFacts, type WebSocketOpening } from '../gateway/index.js';
import type { CheckCount } from './one-check.js';

/** The decoded message as @grpc/proto-loader yields it (absent fields undefined): only what iamgate reads. */
export interface CheckRequestMessage {
  readonly attributes?: AttributeContextMessage | null;
  /** Set instead of the fields when the bytes did not decode (see server.ts): why. */
  readonly malformed?: string;
  /** Set instead of the fields for a call that carried no CheckRequest, or more than one (see one-check.ts). */
  readonly checkCount?: CheckCount;
  /** Set by the decoder (see server.ts): the size of the bytes the message was read from. */
  readonly wireBytes?: number;
}

export interface PeerMessage {
  readonly address?: { readonly socket_address?: { readonly address?: string; readonly port_value?: number } | null } | null;
  readonly principal?: string;
  readonly certificate?: string;
}

export interface HttpRequestMessage {
  readonly id?: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly header_map?: { readonly headers?: readonly { readonly key?: string; readonly value?: string; readonly raw_value?: Uint8Array }[] } | null;
  readonly path?: string;
  readonly host?: string;
  readonly scheme?: string;
  /** The protocol Envoy received the request in: `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`, `HTTP/3`. */
  readonly protocol?: string;
}

export interface AttributeContextMessage {
  readonly source?: PeerMessage | null;
  readonly destination?: PeerMessage | null;
  readonly request?: { readonly http?: HttpRequestMessage | null } | null;
  readonly context_extensions?: Readonly<Record<string, string>>;
}

/** The gateway's own limits on what a request may carry, applied to checks too. */
export interface CheckLimits {
  readonly maxHeaders: number;
  readonly maxHeaderBytes: number;
}

export interface CheckReading {
  readonly facts: RequestFacts;
  /** The peer's authenticated identity as Envoy reports it (a SPIFFE ID under Istio); empty when none. */
  readonly peerPrincipal: string;
  /** Set when the check cannot be decided as asked: the pipeline refuses and audits it. */
  readonly refusal?: Refusal;
}

/**
 * Header lines as the HTTP gateway sees them (`[name, value, ...]`, each value without the spaces
 * and tabs around it, as node:http gives them, so a condition reads the same value at every door):
 * Envoy's pseudo-headers
 * (`:path`, `:authority`, ...) and its copy of Host are dropped, and Host is taken once from
 * `http.host`, so a check has exactly one Host whatever the map held. The raw header map (Envoy's
 * `encode_raw_headers`) keeps repeated names apart; the plain map has them joined by commas.
 */
/** `value` without the spaces and tabs around it, as an HTTP/1.1 parser reads a field value (RFC 9110 5.5). */
function withoutOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 0x20 || value.charCodeAt(start) === 0x09)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * How a WebSocket would open in the protocol Envoy received the request in: by an extended CONNECT,
 * without a Sec-WebSocket-Key, over HTTP/2 and 3; not at all in HTTP/1.0; otherwise by the HTTP/1.1
 * handshake, which carries the key.
 */
function webSocketOpening(protocol: string | undefined): WebSocketOpening {
  switch (protocol) {
    case 'HTTP/2':
    case 'HTTP/3':
      return 'extended-connect';
    case 'HTTP/1.0':
      return 'http/1.0';
    default:
      return 'http/1.1';
  }
}

/** Whether a header name is Host, in any case (the length is compared first: most names are not). */
function isHost(name: string): boolean {
  return name.length === 4 && name.toLowerCase() === 'host';
}

function headerLines(http: HttpRequestMessage): string[] {
  const out: string[] = [];
  if (http.host) out.push('host', http.host);
  const raw = http.header_map?.headers;
  if (raw) {
    for (const h of raw) {
      const name = h.key ?? '';
      if (name === '' || name.startsWith(':') || isHost(name)) continue;
      out.push(name, withoutOws(h.raw_value && h.raw_value.length > 0 ? Buffer.from(h.raw_value).toString('latin1') : (h.value ?? '')));
    }
    return out;
  }
  const map = http.headers;
  if (map) {
    for (const name in map) {
      if (name.startsWith(':') || isHost(name)) continue;
      out.push(name, withoutOws(map[name]!));
    }
  }
  return out;
}

/**
 * The attribute a pseudo-header of the check's header map copies: Envoy fills `method`, `path` and
 * `host` from `:method`, `:path` and `:authority`, so in a check Envoy built they never differ.
 */
function pseudoCopy(lower: string, http: HttpRequestMessage): string | undefined {
  switch (lower) {
    case ':method':
      return http.method ?? '';
    case ':path':
      return http.path ?? '';
    case ':authority':
      return http.host ?? '';
    default:
      return undefined;
  }
}

/** Whether a pseudo-header (name and value as the map holds them) contradicts the attribute it copies; one in another case always does. */
function contradicts(name: string, value: string, http: HttpRequestMessage): boolean {
  const copy = pseudoCopy(name, http);
  if (copy !== undefined) return value !== copy;
  return pseudoCopy(name.toLowerCase(), http) !== undefined;
}

/**
 * The first pseudo-header that contradicts the attribute iamgate decides on, or undefined. A check
 * saying two paths (or methods, or hosts) was not built by Envoy from one request: deciding on
 * either would be a guess, so it is refused.
 */
function contradictedPseudoHeader(http: HttpRequestMessage): string | undefined {
  const raw = http.header_map?.headers;
  if (raw) {
    for (const h of raw) {
      const name = h.key ?? '';
      if (!name.startsWith(':')) continue;
      const value = h.raw_value && h.raw_value.length > 0 ? Buffer.from(h.raw_value).toString('utf8') : (h.value ?? '');
      if (contradicts(name, value, http)) return name;
    }
    return undefined;
  }
  const map = http.headers;
  if (map) for (const name in map) if (name.startsWith(':') && contradicts(name, map[name]!, http)) return name;
  return undefined;
}

function headerBytes(lines: readonly string[]): number {
  let total = 0;
  for (const s of lines) total += s.length;
  return total;
}

function urlDecoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The refusal of a Check call that did not carry exactly one CheckRequest: nothing to decide on, or two to choose from. */
const WRONG_COUNT_REFUSALS: Readonly<Record<CheckCount, Refusal>> = {
  none: { code: 'ext_authz_incomplete', reason: 'ext_authz_no_check', message: 'The call carries no CheckRequest', detail: 'the call ended before any CheckRequest' },
  several: { code: 'ext_authz_ambiguous', reason: 'ext_authz_several_checks', message: 'The call carries more than one CheckRequest', detail: 'a second CheckRequest on one Check call' },
};

/** Reads a decoded CheckRequest into request facts; never throws, whatever the message holds. */
export function readCheckRequest(message: CheckRequestMessage, requestId: string, now: number, limits: CheckLimits): CheckReading {
  const attributes = message.attributes ?? undefined;
  const source = attributes?.source ?? undefined;
  const peerAddress = source?.address?.socket_address?.address ?? '';
  const peerPrincipal = source?.principal ?? '';
  const http = attributes?.request?.http ?? undefined;
  // A method that is not printable ASCII is left out of the facts, and so out of the refusal's record.
  const method = http?.method && isPrintableMethod(http.method) ? http.method : '';
  const empty: RequestFacts = { requestId, method, target: http?.path ?? '', rawHeaders: [], peerAddress, secure: false, now };
  if (message.malformed !== undefined) {
    const refusal: Refusal = { code: 'ext_authz_incomplete', reason: 'ext_authz_malformed', message: 'The check request is not a valid CheckRequest', detail: message.malformed };
    return { facts: empty, peerPrincipal, refusal };
  }
  if (message.checkCount !== undefined) return { facts: empty, peerPrincipal, refusal: WRONG_COUNT_REFUSALS[message.checkCount] };
  if (!http || !method || !http.path) {
    const missing = !attributes ? 'attributes' : !http ? 'attributes.request.http' : !method ? 'attributes.request.http.method in printable ASCII' : 'attributes.request.http.path';
    return { facts: empty, peerPrincipal, refusal: { code: 'ext_authz_incomplete', detail: `the check request has no ${missing}` } };
  }
  const contradicted = contradictedPseudoHeader(http);
  if (contradicted !== undefined) return { facts: empty, peerPrincipal, refusal: { code: 'ext_authz_ambiguous', detail: `${contradicted.slice(0, 40)} differs from the attribute it copies` } };
  const rawHeaders = headerLines(http);
  const extensions = attributes?.context_extensions;
  const certificate = source?.certificate;
  const facts: RequestFacts = {
    ...empty,
    rawHeaders,
    secure: http.scheme === 'https',
    ...(extensions ? { extensions } : {}),
    ...(peerPrincipal !== '' ? { peerPrincipal } : {}),
    // Envoy sends the peer's certificate URL-encoded (PEM); decoded only when an authenticator reads it.
    ...(certificate ? { peerCertificate: () => urlDecoded(certificate) } : {}),
  };
  const lines = rawHeaders.length / 2;
  if (lines > limits.maxHeaders) return { facts: { ...facts, rawHeaders: [] }, peerPrincipal, refusal: { code: 'too_many_headers', detail: `${lines} header lines` } };
  const bytes = headerBytes(rawHeaders);
  if (bytes > limits.maxHeaderBytes) return { facts: { ...facts, rawHeaders: [] }, peerPrincipal, refusal: { code: 'headers_too_large', detail: `${bytes} characters of headers` } };
  // What the HTTP gateway's socket would refuse (another upgrade, another expectation, two body lengths).
  const framing = describedFramingRefusal(method, rawHeaders, webSocketOpening(http.protocol));
  return framing ? { facts, peerPrincipal, refusal: framing } : { facts, peerPrincipal };
}
