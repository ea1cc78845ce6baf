// The gRPC definitions iamgate serves: its own minimal copies of Envoy's ext_authz v3 API and of
// grpc.health.v1 (in proto/, shipped with the package), loaded once at start.
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** proto/ at the package root, found from src/extauthz and dist/extauthz alike. */
export const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

export const PROTO_FILES = ['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto'] as const;

/**
 * Decoding as Envoy's field names (snake_case), enums and 64-bit integers as numbers, absent
 * fields left undefined (so a missing `http` is told from an empty one), and `oneof` names set.
 */
export const LOADER_OPTIONS: Options = { keepCase: true, longs: Number, enums: Number, defaults: false, oneofs: true, includeDirs: [PROTO_ROOT] };

export interface ExtAuthzServices {
  readonly authorization: ServiceDefinition;
  readonly health: ServiceDefinition;
}

function serviceAt(root: GrpcObject, path: readonly string[]): ServiceDefinition {
  let node: unknown = root;
  for (const part of path) node = (node as Record<string, unknown>)[part];
  const service = (node as { service?: ServiceDefinition } | undefined)?.service;
  if (!service) throw new TypeError(`proto/ lacks the service ${path.join('.')}`);
  return service;
}

/** Loads the service definitions from proto/; throws at start when a file is missing or wrong. */
export function loadExtAuthzServices(): ExtAuthzServices {
  const root = loadPackageDefinition(loadSync([...PROTO_FILES], LOADER_OPTIONS));
  return {
    authorization: serviceAt(root, ['envoy', 'service', 'auth', 'v3', 'Authorization']),
    health: serviceAt(root, ['grpc', 'health', 'v1', 'Health']),
  };
}
