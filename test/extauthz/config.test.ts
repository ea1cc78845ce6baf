import { describe, expect, it } from 'vitest';
import { EXT_AUTHZ_DEFAULTS, readExtAuthzConfig } from '../../src/extauthz/index.js';

describe('the limits of the ext_authz gRPC server in configuration', () => {
  it('default to bounds on calls, bytes and connection times when not written', () => {
    const { config, findings } = readExtAuthzConfig({ grpc: { port: 9191 } });
    expect(findings).toEqual([]);
    expect(config?.grpc?.limits).toEqual(EXT_AUTHZ_DEFAULTS.limits);
  });

  it('take the values written', () => {
    const written = { maxConnections: 50, maxConcurrentStreams: 8, maxChecksInFlight: 64, maxCheckBytesInFlight: 2 * 1024 * 1024, keepaliveTimeMs: 5000, keepaliveTimeoutMs: 2000, maxConnectionIdleMs: 9000, maxConnectionAgeMs: 60_000 };
    expect(readExtAuthzConfig({ grpc: { port: 9191, ...written } }).config?.grpc?.limits).toEqual(written);
  });

  it.each(Object.keys(EXT_AUTHZ_DEFAULTS.limits))('cannot turn %s off: 0 is refused with the key named', (key) => {
    const { config, findings } = readExtAuthzConfig({ grpc: { port: 9191, [key]: 0 } });
    expect(config).toBeUndefined();
    expect(findings.map((f) => f.path)).toEqual([`extAuthz.grpc.${key}`]);
  });

  it('refuses a byte budget under 1 MiB', () => {
    expect(readExtAuthzConfig({ grpc: { port: 9191, maxCheckBytesInFlight: 1024 } }).findings.map((f) => f.path)).toEqual(['extAuthz.grpc.maxCheckBytesInFlight']);
  });
});
