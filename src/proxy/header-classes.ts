// The request headers iamgate never lets a caller decide for the upstream, by class: headers that
// describe another request than the request line, headers that say where the request came from
// (believed only from trusted proxies), and headers that say who the caller is. The proxy's header
// hygiene and forward-auth both read these lists, so the proxy never passes what forward-auth believes.

/** Prefix of the headers iamgate sets for the upstream; any the caller sends are dropped, and none can be passed through. */
export const IDENTITY_HEADER_PREFIX = 'x-iamgate-';

/**
 * Headers that tell a server to act on another URL, path, method or host than the request line's
 * (names used by IIS, nginx and ingress-nginx, Traefik, Caddy, Envoy, Kong, Spring, Symfony and
 * method-override middleware). What iamgate authorises is the request line, so these never reach
 * the upstream, whoever sent them; forward-auth reads some of them as its original request.
 */
export const DESCRIBING_HEADERS = [
  // URL and path
  'x-original-url',
  'x-original-uri',
  'x-original-path',
  'x-rewrite-url',
  'x-forwarded-uri',
  'x-forwarded-url',
  'x-forwarded-path',
  'x-forwarded-prefix',
  'x-replaced-path',
  'x-request-uri',
  'x-envoy-original-path',
  // method
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-forwarded-method',
  'x-original-method',
  // host, apart from the forwarding headers below (iamgate sets X-Forwarded-Host itself)
  'x-original-host',
  'x-host',
  'x-http-host-override',
  'x-forwarded-server',
  'x-envoy-original-dst-host',
] as const;

export type DescribingHeader = (typeof DESCRIBING_HEADERS)[number];

/** Lower-case describing header names, for lookups. */
export const DESCRIBING: ReadonlySet<string> = new Set<string>(DESCRIBING_HEADERS);

/**
 * Headers that say where the request came from (client address, scheme, host, port), each with
 * what iamgate makes of a caller's copy. Believed (for `aws:SourceIp`, `aws:SecureTransport`) and
 * passed on only when the direct peer is a trusted proxy. The one table of these rules: the
 * proxy's header plan and ext_authz's `headers_to_remove` both read it through `forwardingPasses`.
 * - `for`, `proto`, `host`: X-Forwarded-For, -Proto and -Host, which iamgate writes itself (behind
 *   Envoy, Envoy writes the first two), extending a trusted proxy's;
 * - `scheme`: another header naming the caller's scheme (Rails reads X-Forwarded-Ssl and -Scheme,
 *   IIS Front-End-Https, Spring and Tomcat Forwarded's `proto`), passed from a trusted proxy only
 *   when it claims no TLS that iamgate did not believe (`claimsTls`);
 * - `origin`: any other, passed from a trusted proxy as it is.
 */
const FORWARDING_KINDS = {
  forwarded: 'scheme',
  'x-forwarded-for': 'for',
  'x-forwarded-proto': 'proto',
  'x-forwarded-host': 'host',
  'x-forwarded-port': 'origin',
  'x-forwarded-scheme': 'scheme',
  'x-forwarded-protocol': 'scheme',
  'x-forwarded-ssl': 'scheme',
  'x-url-scheme': 'scheme',
  'x-scheme': 'scheme',
  'front-end-https': 'scheme',
  'x-real-ip': 'origin',
  'x-client-ip': 'origin',
  'true-client-ip': 'origin',
  'cf-connecting-ip': 'origin',
  'fastly-client-ip': 'origin',
  'x-cluster-client-ip': 'origin',
  'x-originating-ip': 'origin',
  'x-envoy-external-address': 'origin',
} as const;

export type ForwardingHeader = keyof typeof FORWARDING_KINDS;
export type ForwardingKind = (typeof FORWARDING_KINDS)[ForwardingHeader];

/** The forwarding header names, lower-case. */
export const FORWARDING_HEADERS = Object.keys(FORWARDING_KINDS) as readonly ForwardingHeader[];

/** Lower-case forwarding header names, for lookups. */
export const FORWARDING: ReadonlySet<string> = new Set<string>(FORWARDING_HEADERS);

const KIND_OF: ReadonlyMap<string, ForwardingKind> = new Map<string, ForwardingKind>(Object.entries(FORWARDING_KINDS));

/** The kind of a lower-case header name, or undefined when it is no forwarding header. */
export function forwardingKind(lower: string): ForwardingKind | undefined {
  return KIND_OF.get(lower);
}

/**
 * Whether a caller's forwarding header of `kind` reaches the upstream as it was sent (X-Forwarded-For
 * as the start of the list iamgate extends): only from a trusted proxy, and a scheme header only
 * when it claims no TLS that iamgate did not believe (`secure`).
 */
export function forwardingPasses(kind: ForwardingKind, trustedPeer: boolean, secure: boolean, value: string): boolean {
  return trustedPeer && (kind !== 'scheme' || secure || !claimsTls(value));
}

const TLS_WORD = /https|wss|ssl|(?:^|[^a-z])on(?:$|[^a-z])/i;

/** A scheme header's value says the caller used TLS (`https`, `wss`, `ssl`, or the word `on`); any doubt says yes. */
export function claimsTls(value: string): boolean {
  return TLS_WORD.test(value);
}

/**
 * Headers through which authenticating proxies tell a service who the caller is (oauth2-proxy,
 * Authelia, Kubernetes' authenticating proxy, Kong, Grafana's auth proxy, Keycloak Gatekeeper,
 * Istio, Envoy, IIS/Azure, SiteMinder, home-grown gateways), and client-certificate headers. An
 * upstream behind iamgate must be able to trust identity headers, so the caller's are dropped
 * unless `headers.passThrough` names them.
 */
export const IDENTITY_HEADER_NAMES = [
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-forwarded-authorization',
  'remote-user',
  'remote-email',
  'remote-groups',
  'remote-name',
  'x-remote-user',
  'x-remote-group',
  'x-user',
  'x-user-id',
  'x-user-email',
  'x-user-name',
  'x-user-groups',
  'x-user-roles',
  'x-userid',
  'x-username',
  'x-userinfo',
  'x-email',
  'x-authenticated-user',
  'x-authenticated-userid',
  'x-authenticated-groups',
  'x-authenticated-scope',
  'x-credential-identifier',
  'x-credential-username',
  'x-anonymous-consumer',
  'x-auth-user',
  'x-auth-userid',
  'x-auth-username',
  'x-auth-email',
  'x-auth-groups',
  'x-auth-roles',
  'x-auth-subject',
  'x-jwt-payload',
  'x-jwt-assertion',
  'x-goog-iap-jwt-assertion',
  'x-endpoint-api-userinfo',
  'x-apigateway-api-userinfo',
  'sm-user',
  'x-client-cert',
  'x-client-certificate',
  'x-client-verify',
  'x-client-dn',
  'x-ssl-cert',
  'x-forwarded-client-cert',
  'x-arr-clientcert',
] as const;

/** Whole families of identity headers, matched by name prefix (`x-amzn-oidc-data`, `x-consumer-username`, ...). */
export const IDENTITY_HEADER_PREFIXES = [
  'x-auth-request-',
  'x-amzn-oidc-',
  'x-amzn-mtls-',
  'x-goog-authenticated-user-',
  'x-ms-client-principal',
  'x-ms-token-aad-',
  'cf-access-',
  'x-consumer-',
  'x-remote-extra-',
  'x-webauth-',
  'x-pomerium-',
  'x-authentik-',
  'x-vouch-',
  'x-jwt-claim-',
  'ssl-client-',
  'x-ssl-client-',
  'x-forwarded-tls-client-cert',
] as const;

const IDENTITY_NAMES: ReadonlySet<string> = new Set<string>(IDENTITY_HEADER_NAMES);

/** Whether a lower-case header name is an identity header (by name or family); iamgate's own `x-iamgate-*` are not among them. */
export function isIdentityHeader(lower: string): boolean {
  if (IDENTITY_NAMES.has(lower)) return true;
  for (const prefix of IDENTITY_HEADER_PREFIXES) if (lower.startsWith(prefix)) return true;
  return false;
}

/** An HTTP header field name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Why a `headers.passThrough` entry cannot be used, or undefined when it can: it must name one
 * identity header (other headers pass already), never one of iamgate's own.
 */
export function checkPassThrough(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (!TOKEN.test(name)) return `"${name}" is not a header name`;
  if (name.includes('_')) return `"${name}" holds "_": such headers are never forwarded`;
  if (lower.startsWith(IDENTITY_HEADER_PREFIX)) return `"${name}" is iamgate's own header: it always carries iamgate's value`;
  if (!isIdentityHeader(lower)) return `"${name}" is not an identity header iamgate strips (other headers pass already)`;
  return undefined;
}
