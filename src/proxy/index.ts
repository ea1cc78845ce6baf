export { planBody, type BodyPlan } from './body.js';
export { BodyTooLargeError, ClientClosedError, classifyProxyError, describeError, UpgradeRefusedError, type ProxyFailure } from './errors.js';
export { connectionTokens, IDENTITY_HEADER_PREFIX, IDENTITY_HEADERS, type ForwardedIdentity, type RequestHeaderOptions, withheldFromUpstream } from './headers.js';
export { createRequestHeaderPlan, upstreamRequestHeaders, type IdentitySource, type RequestHeaderFacts, type RequestHeaderPlan, type RequestHeaderRules } from './request-headers.js';
export { clientResponseHeaders } from './response-headers.js';
export { endRefused, REFUSED_DEADLINE_MS, REFUSED_LINGER_MS } from './end-socket.js';
export { createUpstream, type ForwardListener, type ForwardRequest, type ProxyResult, type Upstream } from './upstream.js';
export { readHeadersConfig, type HeadersConfig } from './config.js';
export { checkPassThrough, claimsTls, DESCRIBING, DESCRIBING_HEADERS, FORWARDING, FORWARDING_HEADERS, forwardingKind, forwardingPasses, IDENTITY_HEADER_NAMES, IDENTITY_HEADER_PREFIXES, isIdentityHeader, type DescribingHeader, type ForwardingHeader, type ForwardingKind } from './header-classes.js';
