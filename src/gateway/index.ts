// The gateway: request pipeline, route map, reserved endpoints, operations listener.
export { createGatewayApp, markClosingAnswer, type GatewayAppDeps, type GatewayEnv } from './app.js';
export { createLogAuditSink, type AuditEventInput, type AuditSink } from './audit.js';
export type { Authenticator, AuthOutcome } from './auth.js';
export { NO_DECISION_CACHE, type CachedDecision, type CacheLevel, type DecisionCache, type DecisionQuery } from './cache.js';
export { buildRequestContext, compileTrustedProxies, IAMGATE_KEYS, requestKeys, sourceAddress, UNKNOWN_SOURCE_ADDRESS, type RequestFacts, type TrustedProxies } from './context.js';
export { createDecider, denyReason, type Decider, type Verdict } from './decide.js';
export { describedFramingRefusal, isPrintableMethod, type WebSocketOpening } from './described-framing.js';
export { errorAnswer, errorBody, GATEWAY_ERRORS, operatorErrorBody, type DenyReason, type ErrorAnswer, type GatewayErrorCode } from './errors.js';
export { createForwardAuthHandler, FORWARD_AUTH_PATH, originalRequest, type ForwardAuthDialect } from './forward-auth.js';
export { createGatewayMetrics, type GatewayMetrics } from './metrics.js';
export { createOperationsApp, type Readiness, type ReloadReport } from './operations.js';
export { DEFAULT_PATH_RULES, normalizeTarget, type NormalizedTarget, type PathRejection, type PathRules } from './path.js';
export { createPipeline, type Allowed, type DecisionEvent, type DecisionSource, type Pipeline, type PipelineOutcome, type PipelineOverride, type PolicySnapshot, type Refusal, type Rejected } from './pipeline.js';
export { createPolicyLoader, simulatedPrincipal, syntheticTokenFacts, type AuthenticatorFactory, type PolicyFiles } from './policies.js';
export { createProxyHandlers, requestFacts, type ProxyHandlers } from './proxy-handler.js';
export { startGateway, type FrontDoor, type FrontDoorDeps, type Gateway, type GatewayOptions, type LoadNotice, type PolicyLoad, type PolicyLoader } from './server.js';
export { createTunnelRegistry, TUNNEL_CLOSE_REASONS, type TunnelCloseReason, type TunnelGrant, type Tunnels } from './tunnels.js';
export * from './routes/index.js';
