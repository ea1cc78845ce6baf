// Envoy / Istio external authorization over gRPC.
export { readCheckRequest, type CheckLimits, type CheckReading, type CheckRequestMessage } from './check-request.js';
export { checkResponse, deniedResponse, rpcCodeFor, RPC_CODES, type CheckResponseMessage } from './check-response.js';
export { readExtAuthzConfig, EXT_AUTHZ_DEFAULTS, type ExtAuthzConfig, type PeerIdentityConfig } from './config.js';
export { peerIssuer, type PeerIssuer } from './peer-config.js';
export { LOADER_OPTIONS, loadExtAuthzServices, PROTO_FILES, PROTO_ROOT } from './protos.js';
export { createCheckHandler, startExtAuthzServer, type ExtAuthzDeps, type ExtAuthzServer } from './server.js';
