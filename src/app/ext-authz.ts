// Envoy's gRPC external authorization front door as iamgate wires it: started by the gateway on
// its own pipeline once it listens, with the header rules of the HTTP gateway's proxy, and loaded
// only when `extAuthz.grpc` is configured (a gateway without it never loads gRPC).
import { ASSERTION_DEFAULTS, type AssertionIssuer } from '../assertion/index.js';
import type { FrontDoor, FrontDoorDeps } from '../gateway/index.js';
import type { IamgateConfig } from './config.js';

/** The starter of the configured gRPC server, for startGateway's `extAuthz`; undefined when it is off. */
export function extAuthzFrontDoor(config: IamgateConfig, assertion: AssertionIssuer | undefined): ((door: FrontDoorDeps) => Promise<FrontDoor>) | undefined {
  const grpc = config.extAuthz;
  if (!grpc) return undefined;
  return async (door) => {
    const deps = {
      ...door,
      limits: { maxHeaders: config.listen.maxHeaders, maxHeaderBytes: config.limits.maxHeaderBytes },
      forwardAuthorization: config.upstream.forwardAuthorization,
      passThrough: new Set(config.headers.passThrough),
      assertionHeader: assertion?.header ?? ASSERTION_DEFAULTS.header,
      serverLimits: grpc.limits,
      connectionGraceMs: config.shutdown.graceMs,
    };
    const { startExtAuthzServer } = await import('../extauthz/server.js');
    return startExtAuthzServer(deps, grpc.host, grpc.port);
  };
}
