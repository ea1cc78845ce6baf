// CheckRequests as Envoy's HTTP filter builds them, and readers of the answers, for the ext_authz suites.
import { headerOf, type CheckAnswer } from '../support/grpc.js';

export interface Described {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly principal?: string;
  readonly address?: string;
  readonly extensions?: Record<string, string>;
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
          protocol: 'HTTP/1.1',
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
