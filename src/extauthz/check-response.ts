// Turning the pipeline's outcome into Envoy's CheckResponse. Allowed: an OkHttpResponse that sets
// iamgate's identity headers (overwriting any the caller sent) and removes the caller's headers
// the HTTP gateway would not forward — Envoy applies headers_to_remove after the headers it sets,
// so no header iamgate sets is ever listed there. Denied: the HTTP gateway's status, JSON body and
// headers (WWW-Authenticate), and the google.rpc code that matches the status.
import type { Allowed, PipelineOutcome } from '../gateway/index.js';
import { claimsTls, forwardingKind, forwardingPasses, IDENTITY_HEADERS, withheldFromUpstream } from '../proxy/index.js';

/** google.rpc.Code numbers iamgate answers with. */
export const RPC_CODES = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** `HeaderValueOption.append_action` OVERWRITE_IF_EXISTS_OR_ADD: the caller's copies are replaced. */
const OVERWRITE = 2;

interface HeaderOption {
  readonly header: { readonly key: string; readonly value: string };
  readonly append_action: number;
}

export interface CheckResponseMessage {
  readonly status: { readonly code: number; readonly message: string };
  readonly ok_response?: { readonly headers: readonly HeaderOption[]; readonly headers_to_remove: readonly string[] };
  readonly denied_response?: { readonly status: { readonly code: number }; readonly headers: readonly HeaderOption[]; readonly body: string };
}

/** The google.rpc code for an HTTP status iamgate answers with. */
export function rpcCodeFor(status: number): number {
  switch (status) {
    case 401:
      return RPC_CODES.UNAUTHENTICATED;
    case 403:
      return RPC_CODES.PERMISSION_DENIED;
    case 404:
      return RPC_CODES.NOT_FOUND;
    case 429:
      return RPC_CODES.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
      return RPC_CODES.UNAVAILABLE;
    case 504:
      return RPC_CODES.DEADLINE_EXCEEDED;
    default:
      return status >= 500 ? RPC_CODES.INTERNAL : RPC_CODES.INVALID_ARGUMENT;
  }
}

function option(key: string, value: string): HeaderOption {
  return { header: { key, value }, append_action: OVERWRITE };
}

/** Identity headers every allowed check either sets or removes. */
const IDENTITY_NAMES: readonly string[] = Object.values(IDENTITY_HEADERS);

/** The answer to a denied check: the gateway's status, headers and JSON body. */
export function deniedResponse(status: number, body: unknown, headers: Readonly<Record<string, string>>, requestId: string, reason: string): CheckResponseMessage {
  const out: HeaderOption[] = [];
  for (const name in headers) out.push(option(name, headers[name]!));
  out.push(option('content-type', 'application/json'), option('cache-control', 'no-store'), option(IDENTITY_HEADERS.requestId, requestId));
  return { status: { code: rpcCodeFor(status), message: reason }, denied_response: { status: { code: status }, headers: out, body: JSON.stringify(body) } };
}

/** What the HTTP gateway's configuration lets the upstream receive from the caller. */
export interface Withholding {
  readonly forwardAuthorization: boolean;
  readonly passThrough: ReadonlySet<string>;
  /** Lower-case header the HTTP gateway sends its signed assertion in; ext_authz signs none, so a caller's copy is always removed. */
  readonly assertionHeader: string;
}

/**
 * Whether the caller's forwarding header (lower-case name) is removed: it is when it would not
 * pass iamgate's own proxy (`forwardingPasses`), except X-Forwarded-For and -Proto, which Envoy
 * writes itself by its own `use_remote_address` and `xff_num_trusted_hops`: the check carries
 * Envoy's value, so removing them would take it from the upstream too. X-Forwarded-Proto is still
 * removed when it claims a TLS iamgate did not believe, as the proxy would not send it.
 */
function forwardingRemoved(lower: string, value: string, allowed: Allowed): boolean {
  const kind = forwardingKind(lower);
  if (kind === undefined || forwardingPasses(kind, allowed.trustedPeer, allowed.secure, value)) return false;
  if (kind === 'for') return false;
  if (kind === 'proto') return !allowed.secure && claimsTls(value);
  return true;
}

/** The CheckResponse for an outcome; `rawHeaders` are the caller's, as the check described them. */
export function checkResponse(outcome: PipelineOutcome, rawHeaders: readonly string[], withholding: Withholding): CheckResponseMessage {
  const requestId = outcome.event.requestId ?? '';
  if (outcome.kind === 'reject') return deniedResponse(outcome.status, outcome.body, outcome.headers, requestId, outcome.event.reason);
  const p = outcome.principal;
  const set = new Map<string, string>([
    [IDENTITY_HEADERS.principal, p.arn],
    [IDENTITY_HEADERS.account, p.accountId],
    [IDENTITY_HEADERS.mfa, p.mfa ? 'true' : 'false'],
    [IDENTITY_HEADERS.requestId, requestId],
  ]);
  if (p.sessionName !== undefined) set.set(IDENTITY_HEADERS.session, p.sessionName);
  const headers: HeaderOption[] = [];
  for (const [name, value] of set) headers.push(option(name, value));
  // Removed: iamgate's headers it does not set this time and the assertion header, listed whether
  // or not the check carried them (Envoy may send only some headers, while the caller's copy still
  // reaches the upstream), and every caller header the HTTP gateway would withhold, forwarding
  // headers an untrusted source sent among them.
  const remove = new Set<string>();
  for (const name of IDENTITY_NAMES) if (!set.has(name)) remove.add(name);
  remove.add(withholding.assertionHeader);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    if (set.has(lower)) continue;
    if (withheldFromUpstream(lower, withholding.forwardAuthorization, withholding.passThrough) || forwardingRemoved(lower, rawHeaders[i + 1]!, outcome)) remove.add(lower);
  }
  return { status: { code: RPC_CODES.OK, message: '' }, ok_response: { headers, headers_to_remove: [...remove] } };
}
