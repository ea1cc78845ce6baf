import { experimental, logVerbosity } from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/app/logger.js';
import { useTestGateway } from '../support/gateway.js';

const written: string[] = [];
const logger = createLogger('info', { write: (line: string) => void written.push(line) }, ['grpc-secret-value-1234']);

describe('the gRPC library’s own messages', () => {
  useTestGateway({ config: { extAuthz: { grpc: { host: '127.0.0.1', port: 0 } } }, logger });
  afterEach(() => vi.restoreAllMocks());

  it('are written as the gateway’s JSON log lines at warn (40), redacted, and never as raw text on stderr', () => {
    const stderr = vi.spyOn(process.stderr, 'write');
    written.length = 0;
    experimental.log(logVerbosity.ERROR, 'No address added out of total 1 resolved: grpc-secret-value-1234');
    expect(stderr).not.toHaveBeenCalled();
    const lines = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ level: 40, source: 'grpc', msg: expect.stringContaining('No address added out of total 1 resolved') })]);
    expect(written.join('')).not.toContain('grpc-secret-value-1234');
  });

  it('keep the gRPC library’s verbosity: its debug messages are not written unless asked for', () => {
    written.length = 0;
    experimental.log(logVerbosity.DEBUG, 'a debug message');
    expect(written).toEqual([]);
  });
});
