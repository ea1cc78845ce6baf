// Building a request's condition context: the principal's keys, the request's global keys named
// as AWS names them (aws:SourceIp, aws:SecureTransport, aws:CurrentTime, ...), iamgate's own keys
// for method, path and route parameters, and the extra keys the route takes from the request.
import type { TraceContext } from '../trace/index.js';
import { BlockList, isIP } from 'node:net';
import { isoSeconds, type Principal } from '../identity/index.js';
import { REQUEST_KEYS, type ContextValue, type RequestContext } from '../policy/index.js';
import { scanHeaders, type RequestHeaders } from './request-headers.js';
import type { RouteMatch } from './routes/index.js';

/** The facts about one HTTP request that the pipeline reads: plain values, taken once from Node's request. */
export interface RequestFacts {
  readonly requestId: string;
  readonly method: string;
  /** The raw request target (`/orders/1?x=2`) as received. */
  readonly target: string;
  /** Flat `[name, value, ...]` as received. */
  readonly rawHeaders: readonly string[];
  readonly peerAddress: string;
  /** The caller reached iamgate over TLS. */
  readonly secure: boolean;
  /** Epoch ms when the request arrived. */
  readonly now: number;
  /** Values the asking proxy attaches to a check (Envoy's context_extensions), never the caller's. */
  readonly extensions?: Readonly<Record<string, string>> | undefined;
  /** The W3C trace the request belongs to (proxied requests); its id goes into the audit record. */
  readonly trace?: TraceContext | undefined;
  /** The peer's identity as the asking proxy authenticated it (ext_authz `source.principal`: a SPIFFE ID under Istio). */
  readonly peerPrincipal?: string | undefined;
  /** The caller's TLS client certificate (PEM), read only when an authenticator asks. */
  readonly peerCertificate?: (() => string | undefined) | undefined;
}

/** iamgate's own condition keys. */
export const IAMGATE_KEYS = {
  method: 'iamgate:Method',
  path: 'iamgate:Path',
  route: 'iamgate:Route',
  routeParamPrefix: 'iamgate:RouteParam/',
  contextExtensionPrefix: 'iamgate:ContextExtension/',
} as const;

const LOWER = {
  method: IAMGATE_KEYS.method.toLowerCase(),
  path: IAMGATE_KEYS.path.toLowerCase(),
  route: IAMGATE_KEYS.route.toLowerCase(),
  routeParamPrefix: IAMGATE_KEYS.routeParamPrefix.toLowerCase(),
  contextExtensionPrefix: IAMGATE_KEYS.contextExtensionPrefix.toLowerCase(),
} as const;

/** The values of a header in a raw header list (case-insensitive), in order. */
export function headerValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

/** The single value of a header, or undefined when absent. Repeated headers yield their first value. */
export function headerValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1]!;
  return undefined;
}

/** Drops the IPv4-mapped prefix Node reports on dual-stack sockets (`::ffff:10.0.0.1`). */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** The set of trusted proxy networks, compiled once from CIDR strings. */
export interface TrustedProxies {
  has(address: string): boolean;
}

/** Compiles CIDRs (`10.0.0.0/8`, `::1/128`, or a bare address) into a matcher; assumes they were validated. */
export function compileTrustedProxies(cidrs: readonly string[]): TrustedProxies {
  if (cidrs.length === 0) return { has: () => false };
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [addr, bits] = cidr.split('/') as [string, string | undefined];
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(addr, bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family);
  }
  return {
    has(address) {
      const plain = plainAddress(address);
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

/**
 * What `aws:SourceIp` holds when the caller's address cannot be known. The caller has an address,
 * iamgate only cannot tell it, so the key is present with a value that is not an address: no IP
 * operator reads it, with or without a set qualifier, so its test fails in an Allow and holds in a
 * Deny, and `Null: true` does not hold. An empty value would be null, the guide's reading of a key
 * with no value: an Allow on `"Null": {"aws:SourceIp": "true"}` would then grant the request.
 */
export const UNKNOWN_SOURCE_ADDRESS = 'unknown';

/**
 * The caller's address: the peer's, or — when the peer is a trusted proxy — the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy. Reaching an entry that is not an
 * address (`ip:port`, a name, an empty entry) makes it unknown, UNKNOWN_SOURCE_ADDRESS: the trusted
 * hop's own address would pass for the caller's, inside any range that admits the proxy, and
 * nothing left of that entry is vouched for. A peer without an address (a closed socket, an
 * ext_authz check from a unix socket or without its source) is unknown too, never empty.
 */
export function sourceAddress(peer: string, raw: readonly string[], trusted: TrustedProxies, peerTrusted = trusted.has(peer)): string {
  return sourceAddressOf(peer, peerTrusted ? headerValues(raw, 'x-forwarded-for') : undefined, trusted, peerTrusted);
}

/** `sourceAddress` over the X-Forwarded-For values already read from the request. */
export function sourceAddressOf(peer: string, forwardedFor: readonly string[] | undefined, trusted: TrustedProxies, peerTrusted: boolean): string {
  if (peer === '') return UNKNOWN_SOURCE_ADDRESS;
  let current = plainAddress(peer);
  if (!peerTrusted || !forwardedFor) return current;
  const hops = forwardedFor.flatMap((v) => v.split(',')).map((s) => s.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plainAddress(hops[i]!);
    if (isIP(hop) === 0) return UNKNOWN_SOURCE_ADDRESS;
    current = hop;
    if (!trusted.has(hop)) break;
  }
  return current;
}

/**
 * The caller used TLS: to iamgate itself, or to a trusted proxy that says so in X-Forwarded-Proto
 * (its values as read from the request, joined by commas). Every value must say `https`: a proxy
 * that appends (a second line, or `, http` after the value it received) instead of replacing
 * leaves the caller's own claim in the list, so one `https` among others proves nothing.
 */
export function secureTransportOf(secure: boolean, forwardedProto: string | undefined, trustedPeer: boolean): boolean {
  if (secure) return true;
  if (!trustedPeer || forwardedProto === undefined) return false;
  let start = 0;
  for (;;) {
    const end = forwardedProto.indexOf(',', start);
    if (forwardedProto.slice(start, end === -1 ? undefined : end).trim().toLowerCase() !== 'https') return false;
    if (end === -1) return true;
    start = end + 1;
  }
}

/**
 * The values of query parameter `name`, or undefined when the query also holds it in another case
 * (`Status`), in list form (`name[]`, `name[1]`, `name[x]`, in any case) or spelt as PHP reads it
 * (`order.status` for `order_status`): ASP.NET Core and ignore-case binders read `Status` as
 * `status`, Express (qs), Rails and PHP read the list forms as more values of `name` (or as its only
 * value), and PHP reads the last of the spellings, which a condition could not have seen.
 */
function queryValues(params: URLSearchParams, name: string): string[] | undefined {
  const lower = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of params) {
    if (key === name) values.push(value);
    else if (key.length >= name.length && (key.length === name.length || key.charCodeAt(name.length) === 0x5b) && key.slice(0, name.length).toLowerCase() === lower) return undefined;
    else if (samePhpName(key, name)) return undefined;
  }
  return values;
}

/**
 * A parameter name as PHP reads it (Laravel, Symfony), in any case: cut at a NUL, leading spaces
 * dropped, then ` `, `.` and `[` read as `_`, so `order.status` and ` order_status` are its `order_status`.
 */
function phpName(key: string): string {
  const nul = key.indexOf('\0');
  return (nul < 0 ? key : key.slice(0, nul)).replace(/^ +/, '').replace(/[ .[]/g, '_').toLowerCase();
}

/** The character at `i` as phpName reads it (ASCII lower case, ` `, `.` and `[` as `_`), or -1 past the end or at a NUL. */
function phpCode(text: string, i: number): number {
  const code = i < text.length ? text.charCodeAt(i) : 0;
  if (code === 0) return -1;
  if (code === 0x20 || code === 0x2e || code === 0x5b) return 0x5f;
  return code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}

function afterLeadingSpaces(text: string): number {
  let i = 0;
  while (text.charCodeAt(i) === 0x20) i++;
  return i;
}

/**
 * Whether PHP reads `key` and `name` as one name (phpName), compared character by character:
 * every parameter of every request to a route with a query condition key is asked, and making both
 * PHP names (six strings) doubled the cost of reading the query. Past a character outside ASCII,
 * whose lower case may change the length, phpName itself answers.
 */
function samePhpName(key: string, name: string): boolean {
  for (let i = afterLeadingSpaces(key), j = afterLeadingSpaces(name); ; i++, j++) {
    const a = phpCode(key, i);
    const b = phpCode(name, j);
    if (a >= 0x80 || b >= 0x80) return phpName(key) === phpName(name);
    if (a !== b) return false;
    if (a < 0) return true;
  }
}

/** Whether two readings of a parameter found the same values, in the same order. */
function sameValues(a: readonly string[], b: readonly string[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Where a request came from and whether it came over TLS, as the pipeline reads them once. */
export interface RequestNetwork {
  readonly sourceIp: string;
  readonly secure: boolean;
}

const ALWAYS = (): boolean => true;

/**
 * The one writer of the request's own global condition keys (aws:SourceIp, aws:SecureTransport,
 * aws:CurrentTime, aws:EpochTime, aws:PrincipalIsAWSService, aws:ViaAWSService, aws:UserAgent,
 * aws:Referer), spelt as REQUEST_KEYS spells them: the data path's context and the STS calls'
 * keys both come from here, so they can neither drift apart nor hold one key in two spellings.
 * `put` receives each key that `wanted` admits; `aws:CurrentTime` is formatted only when wanted.
 */
export function writeRequestKeys(
  now: number,
  network: RequestNetwork,
  headers: Pick<RequestHeaders, 'userAgent' | 'referer'>,
  put: (key: string, value: ContextValue) => void,
  wanted: (key: string) => boolean = ALWAYS,
): void {
  put(REQUEST_KEYS.sourceIp, network.sourceIp);
  put(REQUEST_KEYS.secureTransport, network.secure);
  if (wanted(REQUEST_KEYS.currentTime)) put(REQUEST_KEYS.currentTime, isoSeconds(now));
  put(REQUEST_KEYS.epochTime, Math.floor(now / 1000));
  // IAM User Guide, "AWS global condition context keys": both are in the context of every
  // signed request, false unless an AWS service made or forwarded it — never the case here.
  put(REQUEST_KEYS.principalIsAwsService, false);
  put(REQUEST_KEYS.viaAwsService, false);
  if (headers.userAgent !== undefined) put(REQUEST_KEYS.userAgent, headers.userAgent);
  if (headers.referer !== undefined) put(REQUEST_KEYS.referer, headers.referer);
}

/**
 * The request's own global condition keys, read from it as the pipeline reads them, for decisions
 * made outside the pipeline, such as the STS endpoints', so that a caller's Deny written on where,
 * how or when a call comes is applied to it too. Keys are spelt as REQUEST_KEYS spells them.
 */
export function requestKeys(facts: RequestFacts, trusted: TrustedProxies): Record<string, ContextValue> {
  const headers = scanHeaders(facts.rawHeaders);
  const trustedPeer = trusted.has(facts.peerAddress);
  const network: RequestNetwork = {
    sourceIp: sourceAddressOf(facts.peerAddress, headers.forwardedFor, trusted, trustedPeer),
    secure: secureTransportOf(facts.secure, headers.forwardedProto, trustedPeer),
  };
  const keys: Record<string, ContextValue> = {};
  writeRequestKeys(facts.now, network, headers, (key, value) => {
    keys[key] = value;
  });
  return keys;
}

/**
 * The values of header `name` (lower-case, never holding `_`: route maps refuse such names), or
 * undefined when the request also spells it with `_` for `-` (`X_Client_Id`): behind forward-auth
 * or ext_authz the proxy forwards such a header, and CGI and FastCGI upstreams read both spellings
 * as one variable (HTTP_X_CLIENT_ID), so the value the upstream acts on is not knowable.
 */
function headerSourceValues(raw: readonly string[], name: string, dropsUnderscored: boolean): string[] | undefined {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const header = raw[i]!;
    if (header.length !== name.length) continue;
    const lower = header.toLowerCase();
    if (lower === name) values.push(raw[i + 1]!);
    else if (!dropsUnderscored && lower.replaceAll('_', '-') === name) return undefined;
  }
  return values;
}

/**
 * A header value that reads alike however the upstream decodes it: no character above `~`.
 * Upstreams read other bytes as Latin-1 (Node, Java servlets) or as UTF-8 (Go, most policy
 * authors), so a condition could never be sure which string the upstream acts on.
 */
function readsAlike(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7e) return false;
  return true;
}

export type ContextBuild = { readonly ok: true; readonly context: RequestContext } | { readonly ok: false; readonly key: string };

/** The context of a request whose policies read no key (a Map nobody can change: typed read-only, never cast back). */
const EMPTY_CONTEXT: ContextBuild = Object.freeze({ ok: true, context: new Map<string, ContextValue>() as RequestContext });

/**
 * Builds the condition context for a decision. Fails (naming the key) when a route's extra key
 * would come from a query parameter or header that appears more than once (a query parameter in
 * list form or in another case too; a header spelt with `_` for `-` too, unless `dropsUnderscored`),
 * or from a header value (aws:UserAgent and aws:Referer included) holding a character above `~`:
 * which value the upstream reads is not knowable, so the request is refused rather than guessed.
 *
 * `reads`, when given, are the lower-case keys the deciding policies can read: only those are
 * set (a key nobody reads cannot change the decision, and `aws:CurrentTime` is formatted only
 * when read). `headers` is the request's one header scan, when the caller has it.
 * `dropsUnderscored`: iamgate itself forwards the request, and so drops every header whose name
 * holds `_` (the upstream never reads the twin); behind forward-auth or ext_authz it is not so.
 */
export function buildRequestContext(
  principal: Principal,
  facts: RequestFacts,
  match: RouteMatch,
  path: string,
  query: string | undefined,
  network: RequestNetwork,
  headers: Pick<RequestHeaders, 'userAgent' | 'referer'> = scanHeaders(facts.rawHeaders),
  reads?: ReadonlySet<string>,
  dropsUnderscored = false,
): ContextBuild {
  // Policies that read no key and a route that takes none: the one empty context, nothing built.
  if (reads !== undefined && reads.size === 0 && match.context.length === 0) return EMPTY_CONTEXT;
  // Keys are lower-cased here so that a route's extra key can never replace a key the principal
  // or the request already set, whatever its spelling.
  const entries = new Map<string, ContextValue>();
  const wanted = (key: string): boolean => reads === undefined || reads.has(key);
  const put = (key: string, value: ContextValue): void => {
    if (wanted(key)) entries.set(key, Array.isArray(value) ? Object.freeze([...value]) : value);
  };
  if (reads === undefined || reads.size > 0) {
    for (const key in principal.context) put(key.toLowerCase(), principal.context[key]!);
    // A user agent or referer upstreams read differently (readsAlike) is no value to decide on.
    if (headers.userAgent !== undefined && wanted(REQUEST_KEYS.userAgent) && !readsAlike(headers.userAgent)) return { ok: false, key: 'aws:UserAgent' };
    if (headers.referer !== undefined && wanted(REQUEST_KEYS.referer) && !readsAlike(headers.referer)) return { ok: false, key: 'aws:Referer' };
    writeRequestKeys(facts.now, network, headers, put, wanted);
    put(LOWER.method, facts.method);
    put(LOWER.path, path);
    if (match.route !== undefined) put(LOWER.route, match.route);
    for (const [name, value] of match.params) put(LOWER.routeParamPrefix + name.toLowerCase(), value);
    const extensions = facts.extensions;
    if (extensions) for (const name in extensions) put(LOWER.contextExtensionPrefix + name.toLowerCase(), extensions[name]!);
  }
  if (match.context.length > 0) {
    let params: URLSearchParams | undefined;
    let semicolonParams: URLSearchParams | undefined;
    for (const source of match.context) {
      let values: string[];
      if (source.from === 'query') {
        params ??= new URLSearchParams(query ?? '');
        // Rack 2 (Rails, Sinatra), Perl's CGI.pm and Python's parse_qs before 3.9.2 split a query at
        // `;` as at `&`: where that reading finds other values, the upstream's is not knowable.
        semicolonParams ??= query?.includes(';') ? new URLSearchParams(query.replaceAll(';', '&')) : params;
        const found = queryValues(params, source.name);
        if (found === undefined || (semicolonParams !== params && !sameValues(found, queryValues(semicolonParams, source.name)))) return { ok: false, key: source.key };
        values = found;
      } else {
        const found = headerSourceValues(facts.rawHeaders, source.name, dropsUnderscored);
        if (found === undefined || (found.length === 1 && !readsAlike(found[0]!))) return { ok: false, key: source.key };
        values = found;
      }
      if (values.length > 1) return { ok: false, key: source.key };
      const key = source.key.toLowerCase();
      if (values.length === 1 && !entries.has(key)) put(key, values[0]!);
    }
  }
  return { ok: true, context: entries };
}
