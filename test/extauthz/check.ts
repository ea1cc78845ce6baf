// CheckRequests as Envoy's HTTP filter builds them, and readers of the answers, for the ext_authz suites.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { FIXTURES, useTestGateway, type TestGateway } from '../support/gateway.js';
import { extAuthzClient, headerOf, type CheckAnswer, type ExtAuthzClient } from '../support/grpc.js';

/** The ext_authz suites' directory: the gateway fixtures' users, and a role for a mesh workload. */
export const EXT_AUTHZ_DIRECTORY = fileURLToPath(new URL('./fixtures/directory.yaml', import.meta.url));

/**
 * A test gateway with the gRPC ext_authz server on (and `config` on top), over the ext_authz
 * directory (or `directory`), and a client of it for the suite.
 */
export function useExtAuthzGateway(o: { config?: Record<string, unknown>; directory?: string } = {}): { readonly gw: TestGateway; client(): ExtAuthzClient } {
  const gw = useTestGateway({ config: { extAuthz: { grpc: { host: '127.0.0.1', port: 0 } }, ...o.config }, files: { directory: o.directory ?? EXT_AUTHZ_DIRECTORY, routes: FIXTURES.routes } });
  let client: ExtAuthzClient | undefined;
  beforeAll(() => {
    client = extAuthzClient(gw.gateway.extAuthzAddress!);
  });
  afterAll(() => client?.close());
  return { gw, client: () => client! };
}

export interface Described {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly principal?: string;
  readonly address?: string;
  readonly extensions?: Record<string, string>;
  /** The protocol Envoy received the request in (default HTTP/1.1). */
  readonly protocol?: string;
}

/** A CheckRequest as Envoy's HTTP filter sends it. */
export function checkOf(d: Described): unknown {
  return {
    attributes: {
      source: { address: { socket_address: { address: d.address ?? '10.1.2.3', port_value: 51000 } }, ...(d.principal ? { principal: d.principal } : {}) },
      destination: { address: { socket_address: { address: '10.9.9.9', port_value: 8080 } } },
      request: {
        http: {
          id: 'envoy-1',
          method: d.method ?? 'GET',
          path: d.path ?? '/orders/12',
          host: 'orders.example',
          scheme: 'http',
          protocol: d.protocol ?? 'HTTP/1.1',
          headers: { ':method': d.method ?? 'GET', ':path': d.path ?? '/orders/12', ':authority': 'orders.example', 'user-agent': 'test', ...d.headers },
        },
      },
      context_extensions: d.extensions ?? { virtual_host: 'orders' },
    },
  };
}

export function body(answer: CheckAnswer): Record<string, unknown> {
  return JSON.parse(answer.denied_response?.body ?? 'null') as Record<string, unknown>;
}

export function requestIdOf(answer: CheckAnswer): string {
  return headerOf(answer.ok_response ?? answer.denied_response, 'x-iamgate-request-id') ?? '';
}
